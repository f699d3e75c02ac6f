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
 * How many distinct colours the map canvas shows (every other pixel): a blank map has one or
 * two (background, maybe a control); land, borders, zones and subjects make many.
 */
export async function mapColours(page: Page): Promise<number> {
  return page.evaluate(() => {
    const map = (window as unknown as { ccmMap?: { getCanvas(): HTMLCanvasElement } }).ccmMap;
    if (!map) return 0;
    const source = map.getCanvas();
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(source, 0, 0);
    const colours = new Set<string>();
    // Every other pixel: a subject's 7 px dot on a plain land colour is never stepped over.
    const step = 2;
    const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
    for (let y = 0; y < copy.height; y += step) {
      for (let x = 0; x < copy.width; x += step) {
        const i = (y * copy.width + x) * 4;
        colours.add(`${data[i]! >> 3},${data[i + 1]! >> 3},${data[i + 2]! >> 3}`);
      }
    }
    return colours.size;
  });
}

/** The share of the map canvas (every 4th pixel) within ±12 of this colour per channel. */
export async function mapColourShare(
  page: Page,
  colour: [number, number, number],
): Promise<number> {
  return page.evaluate(([r, g, b]) => {
    const map = (window as unknown as { ccmMap?: { getCanvas(): HTMLCanvasElement } }).ccmMap;
    if (!map) return 0;
    const source = map.getCanvas();
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(source, 0, 0);
    const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
    let near = 0;
    let all = 0;
    for (let i = 0; i < data.length; i += 16) {
      all++;
      const d = Math.max(
        Math.abs(data[i]! - r),
        Math.abs(data[i + 1]! - g),
        Math.abs(data[i + 2]! - b),
      );
      if (d <= 12) near++;
    }
    return all === 0 ? 0 : near / all;
  }, colour);
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
