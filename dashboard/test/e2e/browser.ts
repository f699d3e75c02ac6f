import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser). WebGL comes from
 * SwiftShader, so MapLibre renders in a headless machine without a GPU.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const SCREENSHOTS = fileURLToPath(
  new URL('../../test-results/screenshots', import.meta.url),
);

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does)`,
    );
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-gl=angle',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Waits until the page's most recent map has loaded everything it asked for. */
export async function waitForMap(page: Page, timeout = 60_000) {
  await page.waitForFunction(
    () => {
      const map = (window as unknown as { ccmMap?: { loaded(): boolean } }).ccmMap;
      return !!map && map.loaded();
    },
    undefined,
    { timeout, polling: 250 },
  );
}

/** Waits until these layers of the current map draw at least one feature. */
export async function waitForFeatures(page: Page, layers: string[], timeout = 60_000) {
  await page.waitForFunction(
    (ids) => {
      const map = (
        window as unknown as {
          ccmMap?: {
            loaded(): boolean;
            getLayer(id: string): unknown;
            queryRenderedFeatures(o: { layers: string[] }): unknown[];
          };
        }
      ).ccmMap;
      if (!map || !map.loaded()) return false;
      const present = ids.filter((id) => map.getLayer(id));
      return present.length > 0 && map.queryRenderedFeatures({ layers: present }).length > 0;
    },
    layers,
    { timeout, polling: 250 },
  );
}

/**
 * The map canvas's pixels on a grid, `step` apart both ways, as RGB bytes (read in the page
 * from a 2D copy: the WebGL canvas keeps its drawing buffer, see MapView).
 */
async function mapPixels(page: Page, step: number): Promise<Buffer> {
  const base64 = await page.evaluate((s) => {
    const map = (window as unknown as { ccmMap?: { getCanvas(): HTMLCanvasElement } }).ccmMap;
    if (!map) return '';
    const source = map.getCanvas();
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(source, 0, 0);
    const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
    let out = '';
    for (let y = 0; y < copy.height; y += s) {
      for (let x = 0; x < copy.width; x += s) {
        const i = (y * copy.width + x) * 4;
        out += String.fromCharCode(data[i]!, data[i + 1]!, data[i + 2]!);
      }
    }
    return btoa(out);
  }, step);
  return Buffer.from(base64, 'base64');
}

/**
 * How many distinct colours the map canvas shows (every other pixel): a blank map has one or
 * two (background, maybe a control); land, borders, zones and subjects make many.
 */
export async function mapColours(page: Page): Promise<number> {
  // Every other pixel: a subject's 7 px dot on a plain land colour is never stepped over.
  const rgb = await mapPixels(page, 2);
  const colours = new Set<number>();
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    colours.add(((rgb[i]! >> 3) << 10) | ((rgb[i + 1]! >> 3) << 5) | (rgb[i + 2]! >> 3));
  }
  return colours.size;
}

/** The share of the map canvas (every 4th pixel both ways) within ±12 of this colour. */
export async function mapColourShare(
  page: Page,
  [r, g, b]: [number, number, number],
): Promise<number> {
  const rgb = await mapPixels(page, 4);
  let near = 0;
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    const d = Math.max(Math.abs(rgb[i]! - r), Math.abs(rgb[i + 1]! - g), Math.abs(rgb[i + 2]! - b));
    if (d <= 12) near++;
  }
  return rgb.length === 0 ? 0 : near / (rgb.length / 3);
}

/** Features of these layers drawn on the current map. */
export async function renderedFeatures(page: Page, layers: string[]): Promise<number> {
  return page.evaluate((ids) => {
    const map = (
      window as unknown as {
        ccmMap?: {
          getLayer(id: string): unknown;
          queryRenderedFeatures(o: { layers: string[] }): unknown[];
        };
      }
    ).ccmMap;
    if (!map) return 0;
    const present = ids.filter((id) => map.getLayer(id));
    return present.length ? map.queryRenderedFeatures({ layers: present }).length : 0;
  }, layers);
}

/** Pixel position on the page of a WGS-84 point on the current map (offline basemap). */
export async function mapPixel(page: Page, lon: number, lat: number): Promise<[number, number]> {
  return page.evaluate(
    ([x, y]) => {
      const map = (
        window as unknown as {
          ccmMap: {
            project(p: [number, number]): { x: number; y: number };
            getCanvas(): HTMLCanvasElement;
          };
        }
      ).ccmMap;
      const p = map.project([x, y]);
      const box = map.getCanvas().getBoundingClientRect();
      return [box.left + p.x, box.top + p.y] as [number, number];
    },
    [lon, lat] as [number, number],
  );
}

/**
 * The map is not blank: the offline basemap (Natural Earth land) is drawn, the screen's own
 * layers show features, and the canvas holds more than one or two colours.
 */
export async function expectMapDrawn(page: Page, layers: string[]) {
  await waitForFeatures(page, layers);
  expect(await renderedFeatures(page, ['ne-land']), 'basemap land drawn').toBeGreaterThan(0);
  expect(await renderedFeatures(page, layers), `${layers.join(', ')} drawn`).toBeGreaterThan(0);
  expect(await mapColours(page), 'colours on the map canvas').toBeGreaterThanOrEqual(3);
}
