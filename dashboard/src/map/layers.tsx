import maplibregl, { type LayerSpecification } from 'maplibre-gl';
import { useEffect, useRef } from 'react';
import type { LatestPosition, TrackPoint, Zone } from '../api/types';
import { useMap } from './MapView';
import { metresToPixels, toDisplay, type LonLat } from './coords';
import { boundsOf, zonesCollection } from './zones';

/** A layer of a GeoJSON source (the source id is filled in). */
/** False once the map was removed (a new basemap setting makes a new map). */
const alive = (map: maplibregl.Map) => !!(map as { style?: unknown }).style;

type LayerDef = {
  id: string;
  type: 'fill' | 'line' | 'circle';
  filter?: maplibregl.FilterSpecification;
  paint?: Record<string, unknown>;
  layout?: Record<string, unknown>;
};

/**
 * A GeoJSON source and its layers on the shared map: added in one effect and removed on
 * cleanup, data updated in another (traccar-web's MapGeofence pattern).
 */
export function useGeoJson(
  sourceId: string,
  data: GeoJSON.FeatureCollection,
  layers: LayerDef[],
  sourceOptions: Partial<maplibregl.GeoJSONSourceSpecification> = {},
) {
  const ctx = useMap();
  const map = ctx?.map;
  const layerKey = JSON.stringify(layers);
  useEffect(() => {
    if (!map) return;
    map.addSource(sourceId, {
      type: 'geojson',
      data: { type: 'FeatureCollection', features: [] },
      ...sourceOptions,
    });
    for (const layer of layers) map.addLayer({ ...layer, source: sourceId } as LayerSpecification);
    return () => {
      if (!alive(map)) return; // the map itself is gone
      for (const layer of layers) if (map.getLayer(layer.id)) map.removeLayer(layer.id);
      if (map.getSource(sourceId)) map.removeSource(sourceId);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- layerKey stands for layers
  }, [map, sourceId, layerKey]);
  useEffect(() => {
    if (!map || !alive(map)) return;
    (map.getSource(sourceId) as maplibregl.GeoJSONSource | undefined)?.setData(data);
  }, [map, sourceId, data, layerKey]);
}

/** Zones: inclusion outlined in blue, exclusion filled red, curfew dashed. */
export function ZonesLayer({ zones, id = 'zones' }: { zones: readonly Zone[]; id?: string }) {
  const ctx = useMap();
  const data = ctx ? zonesCollection(zones, ctx.crs) : EMPTY;
  useGeoJson(id, data, [
    {
      id: `${id}-fill`,
      type: 'fill',
      paint: {
        'fill-color': ['match', ['get', 'kind'], 'exclusion', '#e5484d', '#3b82f6'],
        'fill-opacity': [
          'match',
          ['get', 'kind'],
          'exclusion',
          0.25,
          ['match', ['get', 'purpose'], 'county', 0.03, 0.1],
        ],
      },
    },
    {
      id: `${id}-line`,
      type: 'line',
      paint: {
        'line-color': ['match', ['get', 'kind'], 'exclusion', '#c62828', '#1d4ed8'],
        'line-width': ['match', ['get', 'purpose'], 'county', 1.6, 1.2],
        'line-dasharray': [
          'match',
          ['get', 'purpose'],
          'curfew',
          ['literal', [2, 2]],
          ['literal', [1, 0]],
        ],
      },
    },
  ]);
  return null;
}

export const STATUS_COLOURS = {
  alert: '#e5484d',
  offline: '#8b8d98',
  normal: '#2f9e44',
} as const;

export type SubjectStatusOnMap = keyof typeof STATUS_COLOURS;

export const statusOf = (p: LatestPosition): SubjectStatusOnMap =>
  p.openAlerts > 0 ? 'alert' : !p.online ? 'offline' : 'normal';

/**
 * Subjects at their latest fix, coloured by status, clustered when zoomed out (cluster
 * counts are HTML markers: the offline basemap has no glyph server for map text).
 */
export function SubjectsLayer({
  positions,
  selected,
  onSelect,
}: {
  positions: readonly LatestPosition[];
  selected?: string | null;
  onSelect?: (subjectId: string) => void;
}) {
  const ctx = useMap();
  const map = ctx?.map;
  const data: GeoJSON.FeatureCollection = {
    type: 'FeatureCollection',
    features: ctx
      ? positions.map((p) => ({
          type: 'Feature',
          properties: {
            subjectId: p.subjectId,
            status: statusOf(p),
            alert: p.openAlerts > 0 ? 1 : 0,
            selected: p.subjectId === selected ? 1 : 0,
          },
          geometry: { type: 'Point', coordinates: toDisplay([p.lon, p.lat], ctx.crs) },
        }))
      : [],
  };
  useGeoJson(
    'subjects',
    data,
    [
      {
        id: 'subjects-clusters',
        type: 'circle',
        filter: ['has', 'point_count'],
        paint: {
          'circle-color': ['case', ['>', ['get', 'alerts'], 0], STATUS_COLOURS.alert, '#1d4ed8'],
          'circle-radius': ['step', ['get', 'point_count'], 14, 10, 18, 50, 24],
          'circle-opacity': 0.85,
          'circle-stroke-color': '#fff',
          'circle-stroke-width': 2,
        },
      },
      {
        id: 'subjects-points',
        type: 'circle',
        filter: ['!', ['has', 'point_count']],
        paint: {
          'circle-color': [
            'match',
            ['get', 'status'],
            'alert',
            STATUS_COLOURS.alert,
            'offline',
            STATUS_COLOURS.offline,
            STATUS_COLOURS.normal,
          ],
          'circle-radius': ['case', ['==', ['get', 'selected'], 1], 10, 7],
          'circle-stroke-color': ['case', ['==', ['get', 'selected'], 1], '#111827', '#ffffff'],
          'circle-stroke-width': 2,
        },
      },
    ],
    {
      cluster: true,
      clusterRadius: 40,
      clusterMaxZoom: 11,
      clusterProperties: { alerts: ['+', ['get', 'alert']] },
    },
  );

  // Cluster counts as HTML markers, refreshed when the map has rendered new data.
  const markers = useRef(new Map<number, maplibregl.Marker>());
  useEffect(() => {
    if (!map) return;
    const update = () => {
      if (!alive(map) || !map.getSource('subjects')) return;
      const seen = new Set<number>();
      for (const f of map.querySourceFeatures('subjects', { filter: ['has', 'point_count'] })) {
        const id = f.properties.cluster_id as number;
        if (seen.has(id)) continue;
        seen.add(id);
        const coords = (f.geometry as GeoJSON.Point).coordinates as LonLat;
        let marker = markers.current.get(id);
        if (!marker) {
          const el = document.createElement('div');
          el.className = 'ccm-cluster-count';
          marker = new maplibregl.Marker({ element: el }).setLngLat(coords).addTo(map);
          el.addEventListener(
            'click',
            () =>
              void (map.getSource('subjects') as maplibregl.GeoJSONSource)
                .getClusterExpansionZoom(id)
                .then((zoom) => map.easeTo({ center: coords, zoom })),
          );
          markers.current.set(id, marker);
        }
        marker.setLngLat(coords);
        marker.getElement().textContent = String(f.properties.point_count);
      }
      for (const [id, m] of markers.current) {
        if (!seen.has(id)) {
          m.remove();
          markers.current.delete(id);
        }
      }
    };
    map.on('render', update);
    const click = (e: maplibregl.MapLayerMouseEvent) => {
      const f = e.features?.[0];
      if (f) onSelect?.(f.properties.subjectId as string);
    };
    const enter = () => (map.getCanvas().style.cursor = 'pointer');
    const leave = () => (map.getCanvas().style.cursor = '');
    map.on('click', 'subjects-points', click);
    map.on('mouseenter', 'subjects-points', enter);
    map.on('mouseleave', 'subjects-points', leave);
    const current = markers.current;
    return () => {
      map.off('render', update);
      map.off('click', 'subjects-points', click);
      map.off('mouseenter', 'subjects-points', enter);
      map.off('mouseleave', 'subjects-points', leave);
      for (const m of current.values()) m.remove();
      current.clear();
    };
  }, [map, onSelect]);
  return null;
}

export const SOURCE_COLOURS = { gnss: '#1d4ed8', lbs: '#f08c00', wifi: '#9c36b5' } as const;

/**
 * Fixes with their accuracy circles (drawn to scale), coloured by source; low-accuracy fixes
 * paler. `upTo` limits the drawn fixes to the first n (track playback).
 */
export function FixesLayer({
  id,
  points,
  upTo,
  line = true,
  fit = false,
}: {
  id: string;
  points: readonly Pick<TrackPoint, 'lat' | 'lon' | 'accuracyM' | 'source' | 'lowAccuracy'>[];
  upTo?: number;
  line?: boolean;
  fit?: boolean;
}) {
  const ctx = useMap();
  const shown = upTo === undefined ? points : points.slice(0, upTo);
  const lat = points[0]?.lat ?? 23;
  const display = ctx ? shown.map((p) => toDisplay([p.lon, p.lat], ctx.crs)) : [];
  const data: GeoJSON.FeatureCollection = {
    type: 'FeatureCollection',
    features: [
      ...(line && display.length > 1
        ? [
            {
              type: 'Feature' as const,
              properties: { kind: 'line' },
              geometry: { type: 'LineString' as const, coordinates: display },
            },
          ]
        : []),
      ...shown.map((p, i) => ({
        type: 'Feature' as const,
        properties: {
          kind: 'fix',
          source: p.source,
          accuracyM: p.accuracyM ?? 0,
          low: p.lowAccuracy ? 1 : 0,
          last: i === shown.length - 1 ? 1 : 0,
        },
        geometry: { type: 'Point' as const, coordinates: display[i]! },
      })),
    ],
  };
  const colour = [
    'match',
    ['get', 'source'],
    'lbs',
    SOURCE_COLOURS.lbs,
    'wifi',
    SOURCE_COLOURS.wifi,
    SOURCE_COLOURS.gnss,
  ];
  useGeoJson(id, data, [
    {
      id: `${id}-accuracy`,
      type: 'circle',
      filter: ['==', ['get', 'kind'], 'fix'],
      paint: {
        'circle-color': colour,
        'circle-opacity': ['case', ['==', ['get', 'last'], 1], 0.12, 0.03],
        'circle-stroke-color': colour,
        'circle-stroke-opacity': ['case', ['==', ['get', 'last'], 1], 0.6, 0.15],
        'circle-stroke-width': 1,
        'circle-radius': metresToPixels(['get', 'accuracyM'], lat) as never,
      },
    },
    {
      id: `${id}-line`,
      type: 'line',
      filter: ['==', ['get', 'kind'], 'line'],
      paint: { 'line-color': '#334155', 'line-width': 2, 'line-opacity': 0.7 },
    },
    {
      id: `${id}-fix`,
      type: 'circle',
      filter: ['==', ['get', 'kind'], 'fix'],
      paint: {
        'circle-color': colour,
        'circle-opacity': ['case', ['==', ['get', 'low'], 1], 0.45, 1],
        'circle-radius': ['case', ['==', ['get', 'last'], 1], 8, 4],
        'circle-stroke-color': ['case', ['==', ['get', 'last'], 1], '#111827', '#ffffff'],
        'circle-stroke-width': ['case', ['==', ['get', 'last'], 1], 2.5, 1],
      },
    },
  ]);
  const map = ctx?.map;
  const fitKey = fit ? `${points.length}:${points[0]?.lat}:${points.at(-1)?.lat}` : '';
  useEffect(() => {
    if (!map || !fit || !ctx) return;
    const b = boundsOf(points.map((p) => toDisplay([p.lon, p.lat], ctx.crs)));
    if (b && alive(map)) map.fitBounds(b, { padding: 60, maxZoom: 16, duration: 0 });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- fitKey stands for the points
  }, [map, fitKey]);
  return null;
}

/** Fits the map to WGS-84 bounds when they change. */
export function FitBounds({
  bounds,
  maxZoom = 15,
}: {
  bounds: [LonLat, LonLat] | null;
  maxZoom?: number;
}) {
  const ctx = useMap();
  const key = JSON.stringify(bounds);
  useEffect(() => {
    if (!ctx || !bounds || !alive(ctx.map)) return;
    ctx.map.fitBounds([toDisplay(bounds[0], ctx.crs), toDisplay(bounds[1], ctx.crs)], {
      padding: 60,
      maxZoom,
      duration: 0,
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for bounds
  }, [ctx, key]);
  return null;
}

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };
