import { useEffect, useRef } from 'react';
import {
  TerraDraw,
  TerraDrawCircleMode,
  TerraDrawPolygonMode,
  TerraDrawSelectMode,
  type GeoJSONStoreFeatures,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import type { ZoneGeometry } from '../api/types';
import { useMap } from './MapView';
import { fromDisplay, mapPositions, toDisplay, type LonLat } from './coords';
import { ringToCircle } from './zones';

export type DrawMode = 'polygon' | 'circle' | 'select' | 'static';

export interface ZoneDrawingProps {
  mode: DrawMode;
  /** A polygon to start from (editing an existing zone), WGS-84. */
  initial: ZoneGeometry | null;
  /** Bumped to clear the drawing. */
  resetKey: number;
  /** The drawn shape in WGS-84 (converted back from the basemap's system), or null. */
  onChange: (geometry: ZoneGeometry | null) => void;
}

/**
 * Drawing and editing zone shapes on the shared map with Terra Draw: polygons (click the
 * corners), circles (centre, then radius), and the select mode to drag corners. What is
 * drawn on a GCJ-02/BD-09 basemap is converted back to WGS-84 before it leaves here.
 */
export function ZoneDrawing({ mode, initial, resetKey, onChange }: ZoneDrawingProps) {
  const ctx = useMap();
  const draw = useRef<TerraDraw | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    if (!ctx) return;
    const { map, crs } = ctx;
    const td = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map }),
      modes: [
        new TerraDrawPolygonMode({
          styles: { fillColor: '#f59f00', outlineColor: '#e67700', fillOpacity: 0.25 },
        }),
        new TerraDrawCircleMode({
          styles: { fillColor: '#f59f00', outlineColor: '#e67700', fillOpacity: 0.25 },
        }),
        new TerraDrawSelectMode({
          flags: {
            polygon: {
              feature: {
                draggable: true,
                coordinates: { midpoints: true, draggable: true, deletable: true },
              },
            },
            circle: { feature: { draggable: true } },
          },
        }),
      ],
    });
    td.start();
    draw.current = td;
    const emit = () => {
      const features = td.getSnapshot().filter((f) => f.geometry.type === 'Polygon');
      const f = features.at(-1);
      if (!f) return changed.current(null);
      const ring = (f.geometry as GeoJSON.Polygon).coordinates[0]!.map((p) =>
        fromDisplay(p as LonLat, crs),
      );
      if (f.properties.mode === 'circle') {
        const { center, radiusM } = ringToCircle(ring);
        changed.current({ type: 'Circle', center, radiusM });
      } else {
        changed.current({ type: 'Polygon', coordinates: [ring] });
      }
    };
    td.on('finish', (id) => {
      // One shape at a time: a new one replaces the old.
      const others = td
        .getSnapshot()
        .filter((f) => f.id !== id)
        .map((f) => f.id!);
      if (others.length) td.removeFeatures(others);
      emit();
    });
    td.on('change', (_ids, type) => {
      if (type === 'update' || type === 'delete') emit();
    });
    return () => {
      draw.current = null;
      try {
        td.stop();
      } catch {
        // the map went first
      }
    };
  }, [ctx]);

  useEffect(() => {
    const td = draw.current;
    if (!td || !ctx || !ctx.map.style) return;
    td.clear();
    if (initial && initial.type === 'Polygon') {
      const f: GeoJSONStoreFeatures = {
        type: 'Feature',
        geometry: mapPositions(
          { type: 'Polygon', coordinates: initial.coordinates } as GeoJSON.Polygon,
          (p) => toDisplay(p, ctx.crs),
        ),
        properties: { mode: 'polygon' },
      };
      td.addFeatures([f]);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only on reset
  }, [resetKey, ctx]);

  useEffect(() => {
    const td = draw.current;
    if (!td || !ctx?.map.style) return;
    td.setMode(mode === 'static' ? 'static' : mode);
  }, [mode, ctx]);

  return null;
}
