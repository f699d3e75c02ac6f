import maplibregl, { type LayerSpecification, type StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import { Protocol } from 'pmtiles';
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import type { CSSProperties, ReactNode } from 'react';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import worldUrl from 'world-atlas/countries-10m.json?url';
import { useMapConfig } from './useMapConfig';
import { crsOf, type Crs, type MapConfig } from './config';
import { collectionToDisplay, toDisplay, type LonLat } from './coords';

interface MapState {
  map: maplibregl.Map;
  crs: Crs;
}

const MapContext = createContext<MapState | null>(null);
/** The map of the enclosing MapView once its style has loaded (layers are children). */
export const useMap = () => useContext(MapContext);

let pmtilesRegistered = false;
function registerPmtiles() {
  if (pmtilesRegistered) return;
  maplibregl.addProtocol('pmtiles', new Protocol().tile);
  pmtilesRegistered = true;
}

/** Nanning (南宁市), where the demo lives, and its surroundings down to the Vietnam border. */
export const DEFAULT_BOUNDS: [LonLat, LonLat] = [
  [107.3, 22.1],
  [109.6, 23.9],
];

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

function tileSource(config: MapConfig): maplibregl.SourceSpecification | null {
  switch (config.kind) {
    case 'tianditu': {
      const layer = (name: string) =>
        [0, 1, 2, 3, 4, 5, 6, 7].map(
          (i) =>
            `https://t${i}.tianditu.gov.cn/${name}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=${name}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=${encodeURIComponent(config.key)}`,
        );
      return {
        type: 'raster',
        tiles: layer(config.layer),
        tileSize: 256,
        maxzoom: 18,
        attribution: '天地图',
      };
    }
    case 'raster':
      return {
        type: 'raster',
        tiles: config.tiles,
        tileSize: config.tileSize,
        maxzoom: config.maxzoom,
        attribution: config.attribution,
      };
    case 'pmtiles':
      registerPmtiles();
      return {
        type: 'raster',
        url: `pmtiles://${config.url}`,
        tileSize: config.tileSize,
        attribution: config.attribution,
      };
    default:
      return null;
  }
}

/** The offline basemap (Natural Earth land and borders) plus the deployment's tiles, if any. */
function baseStyle(config: MapConfig): StyleSpecification {
  const tiles = tileSource(config);
  const offline = config.kind === 'offline';
  const sources: StyleSpecification['sources'] = {
    'ne-land': { type: 'geojson', data: EMPTY },
    'ne-borders': { type: 'geojson', data: EMPTY },
  };
  const layers: LayerSpecification[] = [
    {
      id: 'background',
      type: 'background',
      paint: { 'background-color': offline ? '#cfdfe9' : '#eef1f4' },
    },
  ];
  if (tiles) {
    sources.tiles = tiles;
    layers.push({ id: 'tiles', type: 'raster', source: 'tiles' });
    if (config.kind === 'tianditu' && config.labels) {
      const labels = config.layer === 'img' ? 'cia' : config.layer === 'ter' ? 'cta' : 'cva';
      sources['tiles-labels'] = {
        ...(tileSource({
          ...config,
          layer: labels as 'vec',
        }) as maplibregl.RasterSourceSpecification),
        tiles: (tileSource(config) as maplibregl.RasterSourceSpecification).tiles!.map((u) =>
          u
            .replaceAll(`${config.layer}_w/`, `${labels}_w/`)
            .replace(`LAYER=${config.layer}`, `LAYER=${labels}`),
        ),
      };
      layers.push({ id: 'tiles-labels', type: 'raster', source: 'tiles-labels' });
    }
  }
  if (offline) {
    layers.push({
      id: 'ne-land',
      type: 'fill',
      source: 'ne-land',
      paint: { 'fill-color': '#f5f3ee' },
    });
  }
  layers.push({
    id: 'ne-borders',
    type: 'line',
    source: 'ne-borders',
    paint: {
      'line-color': '#8a5a9e',
      'line-width': ['interpolate', ['linear'], ['zoom'], 3, 0.8, 10, 2.2],
      'line-dasharray': [3, 1.5],
    },
  });
  return { version: 8, sources, layers };
}

/**
 * ISO 3166 numeric codes of China and its neighbours: the offline basemap is for Guangxi and
 * the border, and tiling every country at 1:10m would keep the map's worker busy for seconds.
 */
const REGION = new Set([
  '156',
  '704',
  '418',
  '104',
  '764',
  '116',
  '356',
  '064',
  '524',
  '050',
  '496',
  '408',
  '410',
  '392',
  '608',
  '158',
  '458',
  '360',
  '096',
  '643',
  '398',
  '417',
  '762',
  '004',
  '586',
]);

let worldCache: Promise<{
  land: GeoJSON.FeatureCollection;
  borders: GeoJSON.FeatureCollection;
}> | null = null;
/** Natural Earth 1:10m countries (world-atlas): land and international borders of the region. */
function loadWorld() {
  worldCache ??= fetch(worldUrl)
    .then((r) => r.json() as Promise<Topology>)
    .then((topo) => {
      const all = topo.objects.countries as GeometryCollection;
      const countries: GeometryCollection = {
        ...all,
        geometries: all.geometries.filter((g) => REGION.has(String(g.id))),
      };
      const land = feature(topo, countries) as unknown as GeoJSON.FeatureCollection;
      const borders: GeoJSON.FeatureCollection = {
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: {},
            geometry: mesh(topo, countries, (a, b) => a !== b),
          },
        ],
      };
      return { land, borders };
    });
  return worldCache;
}

export interface MapViewProps {
  children?: ReactNode;
  style?: CSSProperties;
  className?: string;
  /** WGS-84 bounds to show first (default: Nanning). */
  bounds?: [LonLat, LonLat] | null;
  testId?: string;
}

export function MapView({ children, style, className, bounds, testId }: MapViewProps) {
  const { data: mapConfig } = useMapConfig();
  const container = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<MapState | null>(null);

  useEffect(() => {
    if (!container.current || !mapConfig) return;
    const config = mapConfig.config;
    const crs = crsOf(config);
    const b = bounds ?? DEFAULT_BOUNDS;
    const map = new maplibregl.Map({
      container: container.current,
      style: config.kind === 'style' ? config.url : baseStyle(config),
      bounds: [toDisplay(b[0], crs), toDisplay(b[1], crs)],
      fitBoundsOptions: { padding: 30 },
      attributionControl: { compact: true, customAttribution: 'Natural Earth' },
      // Screenshots and printing of the map (reports) need the drawing buffer kept.
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    // The most recent map, for end-to-end tests and support staff in the browser console.
    (window as unknown as { ccmMap?: maplibregl.Map }).ccmMap = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    let cancelled = false;
    let ready = false;
    // Our sources and layers can go in as soon as the style is parsed ('style.load'); 'load'
    // waits for the first complete render, which a slow or failing tile server holds back.
    const onReady = () => {
      if (cancelled || ready) return;
      ready = true;
      if (config.kind === 'style') {
        // A self-hosted style: our borders on top of it.
        const own = baseStyle({
          kind: 'raster',
          tiles: ['x'],
          tileSize: 256,
          maxzoom: 18,
          attribution: '',
          crs,
        });
        for (const id of ['ne-land', 'ne-borders']) map.addSource(id, own.sources[id]!);
        map.addLayer(own.layers.find((l) => l.id === 'ne-borders')!);
      }
      void loadWorld().then(({ land, borders }) => {
        if (cancelled || !map.style) return;
        (map.getSource('ne-land') as maplibregl.GeoJSONSource | undefined)?.setData(
          collectionToDisplay(land, crs),
        );
        (map.getSource('ne-borders') as maplibregl.GeoJSONSource | undefined)?.setData(
          collectionToDisplay(borders, crs),
        );
      });
      setState({ map, crs });
    };
    map.once('style.load', onReady);
    map.once('load', onReady);
    const resize = new ResizeObserver(() => map.resize());
    resize.observe(container.current);
    return () => {
      cancelled = true;
      resize.disconnect();
      setState(null);
      map.remove();
    };
    // Bounds are the first view only; later changes are the children's business (fitBounds).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mapConfig]);

  return (
    <div
      className={`ccm-map ${className ?? ''}`}
      style={{ position: 'relative', minHeight: 240, ...style }}
      data-testid={testId}
      data-map-ready={state ? 'true' : 'false'}
    >
      <div ref={container} style={{ position: 'absolute', inset: 0 }} />
      {state && <MapContext.Provider value={state}>{children}</MapContext.Provider>}
    </div>
  );
}
