import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gcoord from 'gcoord';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runScenario,
  seedDemo,
  startFleet,
  type DemoLogin,
  type DemoWristband,
  type Fleet,
  type ScenarioRun,
  type SeedDemoResult,
  DeviceMemory,
} from '@ccm/simulators';
import { createPostgresDatabase } from '@ccm/test-support';
import { loadServerConfig } from '../../../server/src/config';
import { startPlatform, type Platform } from '../../../server/src/platform';
import { ensureBuilt } from '../../scripts/ensure-built';
import {
  expectMapDrawn,
  launchChromium,
  mapColourShare,
  mapPixel,
  renderedFeatures,
  screenshot,
  waitForMap,
} from './browser';
import { singleTilePmtiles, solidPng } from './tiles';

const PASSWORD = 'demo-password-for-e2e';

/** Waits for a value in the page: a browser on two shared cores may need seconds. */
const poll = <T>(read: () => Promise<T> | T) =>
  expect.poll(read, { timeout: 20_000, interval: 200 });

/** Great-circle distance between [lon, lat] points, m. */
function distance(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b[1] - a[1]) * rad) / 2) ** 2 +
    Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(((b[0] - a[0]) * rad) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h));
}

/**
 * The dashboard end to end: the built dashboard served by the real server (PostgreSQL, the
 * in-process broker and gateway), the synthetic Nanning seeded, a simulated wristband moving,
 * and a scenario that takes another wristband into an exclusion zone — driven in Debian's
 * headless Chromium as an officer and as a police partner would use it.
 */
describe('dashboard in a real browser against the real server', () => {
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let platform: Platform;
  let seed: SeedDemoResult;
  let fleet: Fleet;
  let dataDir: string;
  let served: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let officer: DemoLogin;
  let mover: DemoWristband;
  let crosser: DemoWristband;
  const crosserMemory = DeviceMemory.ephemeral();
  const runs: ScenarioRun[] = [];
  const pageErrors: string[] = [];
  /** API answers ≥ 400 the officer's page got (shown when a step fails). */
  const apiErrors: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    // Serve a copy: another build (a second checkout's tests, `npm start`) may replace dist/
    // and its hashed chunks while this browser still uses them.
    served = mkdtempSync(join(tmpdir(), 'ccm-e2e-dist-'));
    cpSync(fileURLToPath(new URL('../../dist', import.meta.url)), served, { recursive: true });
    created = await createPostgresDatabase();
    platform = await startPlatform(
      loadServerConfig({
        DATABASE_URL: created.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_LISTEN_PORT: '0',
        CCM_DASHBOARD_DIR: served,
      }),
      pino({ level: 'silent' }),
    );
    base = platform.httpUrl;
    dataDir = mkdtempSync(join(tmpdir(), 'ccm-e2e-'));
    seed = await seedDemo(platform.database.db, { dataDir, demoPassword: PASSWORD, subjects: 40 });

    // An office with an officer account and two wristbands: one moves on its routine (the
    // fleet), the other (no curfew zone, so any hour will do) plays the zone crossing.
    const byOffice = new Map<string, DemoWristband[]>();
    for (const w of seed.wristbands)
      byOffice.set(w.officeCode, [...(byOffice.get(w.officeCode) ?? []), w]);
    for (const [office, bands] of byOffice) {
      const login = seed.logins.find((l) => l.role === 'officer' && l.jurisdiction === office);
      const noCurfew = bands.find((b) => b.curfewZoneId === null);
      const other = bands.find((b) => b !== noCurfew);
      if (login && noCurfew && other) {
        officer = login;
        crosser = noCurfew;
        mover = other;
        break;
      }
    }
    expect(officer, 'an office with an officer and two wristbands').toBeDefined();
    fleet = await startFleet({
      mqttUrl: platform.mqttUrl,
      devices: [mover],
      intervalS: 2,
      coverageGaps: false,
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    // Records the tones the dashboard plays (a critical alert's alarm) for the sound test.
    await context.addInitScript(() => {
      const w = window as unknown as { ccmTones: number[]; AudioContext: typeof AudioContext };
      w.ccmTones = [];
      const Real = w.AudioContext;
      if (!Real) return;
      w.AudioContext = class extends Real {
        override createOscillator() {
          const osc = super.createOscillator();
          const start = osc.start.bind(osc);
          osc.start = (when?: number) => {
            w.ccmTones.push(osc.frequency.value);
            start(when);
          };
          return osc;
        }
      };
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('404'))
        consoleErrors.push(m.text().slice(0, 300));
    });
    page.on('response', (res) => {
      if (res.url().includes('/api/') && res.status() >= 400 && res.status() !== 401) {
        void res.text().then((body) => apiErrors.push(`${res.status()} ${res.url()} ${body}`));
      }
    });
  }, 240_000);

  afterAll(async () => {
    for (const run of runs) await run.stop();
    await browser?.close();
    await fleet?.stop();
    await platform?.close();
    await created?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (served) rmSync(served, { recursive: true, force: true });
  });

  async function signIn(p: Page, username: string) {
    await p.goto(`${base}/`);
    await p.getByTestId('username').fill(username);
    await p.getByTestId('password').fill(PASSWORD);
    await p.getByTestId('login-submit').click();
  }

  /** Picks the option of an antd Select whose label contains `text`. */
  async function choose(p: Page, testId: string, text: string) {
    await p.getByTestId(testId).click();
    await p.keyboard.type(text);
    await p.locator('.ant-select-item-option', { hasText: text }).first().click();
  }

  const api = async (path: string, token: string) =>
    (
      await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
  const token = () => page.evaluate(() => sessionStorage.getItem('ccm.token') ?? '');

  it('serves the dashboard at / with a fallback for deep links; unknown /api paths stay JSON 404', async () => {
    const home = await fetch(`${base}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toContain('text/html');
    const deep = await fetch(`${base}/alerts/some-id`);
    expect(await deep.text()).toContain('<div id="root">');
    const api404 = await fetch(`${base}/api/nothing-here`);
    expect(api404.status).toBe(404);
    expect(await api404.json()).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
    expect((await fetch(`${base}/assets/missing-file.js`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/health`)).status).toBe(200);
  });

  it('an officer signs in and sees a simulated subject move on the live map', async () => {
    await signIn(page, officer.username);
    await poll(() => page.url()).toBe(`${base}/`);
    await page
      .locator('[data-testid="live-status"][data-status="live"]')
      .waitFor({ timeout: 30_000 });
    const row = page.locator(`[data-testid="subject-row"][data-subject-id="${mover.subjectId}"]`);
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    const position = page.getByTestId('card-position');
    const first = await position.textContent();
    // The band reports every 2 s; the stream pushes each new fix without a reload.
    await expect
      .poll(() => position.textContent(), { timeout: 30_000, interval: 500 })
      .not.toBe(first);
    await waitForMap(page);
    await screenshot(page, '01-monitor');
    await expectMapDrawn(page, ['subjects-points', 'subjects-clusters']);
    // The county the office's subjects must stay in (assigned to them at county level).
    expect(await renderedFeatures(page, ['zones-line'])).toBeGreaterThan(0);
  }, 120_000);

  it('an alert arrives live after a device crosses into an exclusion zone; the officer acknowledges and resolves it', async () => {
    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('alert-list').or(page.locator('.ant-empty')).first().waitFor();
    const run = await runScenario('enter_exclusion', {
      mqttUrl: platform.mqttUrl,
      manifest: seed.manifest,
      memory: crosserMemory,
      target: crosser.deviceId,
      intervalS: 20,
      keepAliveMs: 2000,
      timing: { dwellMs: 0 },
    });
    runs.push(run);
    expect(run.expected.map((e) => e.type)).toEqual(['zone_enter']);
    // Pushed over the WebSocket: the list and a notification update with no reload.
    const row = page.locator('[data-testid="alert-row"][data-alert-type="zone_enter"]').first();
    await row.waitFor({ timeout: 60_000 });
    await page.locator('.live-alert-notice').first().waitFor();
    await screenshot(page, '02-alert-arrived');
    await row.click();
    const detail = page.getByTestId('alert-detail');
    await detail.waitFor();
    const alertId = await detail.getAttribute('data-alert-id');
    await page.getByTestId('evidence-map').waitFor();
    await waitForMap(page);
    await screenshot(page, '03-alert-evidence');
    await expectMapDrawn(page, ['evidence-fix']);

    await page.getByTestId('ack').click();
    await poll(() => page.getByTestId('alert-status').textContent()).toBe('已确认');
    await page.getByTestId('note-input').fill('已电话联系对象，正在核实');
    await page.getByTestId('note-add').click();
    await page.getByTestId('alert-history').getByText('已电话联系对象，正在核实').waitFor();
    await page.getByTestId('resolve-note').fill('对象承认进入禁止区域，已训诫');
    await page.getByTestId('resolve').click();
    await poll(() => page.getByTestId('alert-status').textContent())
      .toBe('已处置')
      .catch((err: Error) => {
        throw new Error(`${err.message}; API errors: ${apiErrors.join(' | ')}`);
      });
    const stored = await api(`/alerts/${alertId}`, await token());
    expect(stored).toMatchObject({
      status: 'resolved',
      resolution: 'confirmed_violation',
      type: 'zone_enter',
    });
    expect(stored.history.map((h: { action: string }) => h.action)).toEqual(
      expect.arrayContaining(['raised', 'acknowledged', 'note', 'resolved']),
    );
    await screenshot(page, '04-alert-resolved');
  }, 240_000);

  it('a critical alert sounds the alarm; the high one before it did not', async () => {
    const tones = () => page.evaluate(() => (window as unknown as { ccmTones: number[] }).ccmTones);
    expect(await tones()).toEqual([]); // zone_enter is high: a notice, no sound
    await page.getByTestId('nav-alerts').click();
    // The same wristband as before: its earlier connection goes first, and the device goes
    // on from the seq it had reached (a jump would wait for the gateway's gap timeout).
    await runs.pop()?.stop();
    const run = await runScenario('strap_tamper', {
      mqttUrl: platform.mqttUrl,
      manifest: seed.manifest,
      memory: crosserMemory,
      target: crosser.deviceId,
      intervalS: 5, // the scenario stays two intervals before the strap opens
      keepAliveMs: 2000,
      timing: { tamperMs: 5_000 },
    });
    runs.push(run);
    expect(run.expected.map((e) => e.type)).toEqual(['strap_tamper']);
    await page
      .locator('[data-testid="alert-row"][data-alert-type="strap_tamper"]')
      .first()
      .waitFor({ timeout: 60_000 });
    // The alarm: three tones, 880 / 660 / 880 Hz.
    await poll(tones).toEqual([880, 660, 880]);
    // A critical notice stays until the officer closes it.
    const notice = page.locator('.live-alert-notice').filter({ hasText: '腕带防拆' }).first();
    await notice.waitFor();
    for (const close of await page
      .locator('.live-alert-notice .ant-notification-notice-close')
      .all())
      await close.click();
    await notice.waitFor({ state: 'detached' });
  }, 120_000);

  it('draws a zone on the map, dry-runs it and saves it', async () => {
    await page.getByTestId('nav-zones').click();
    await page.getByTestId('zone-new').click();
    await page.getByTestId('zone-form').waitFor();
    await waitForMap(page);
    // A square of about 600 m next to the moving subject's home.
    const [lon, lat] = mover.places.home;
    await page.evaluate(
      ([x, y]) => {
        const map = (window as unknown as { ccmMap: { jumpTo(o: object): void } }).ccmMap;
        map.jumpTo({ center: [x, y], zoom: 14 });
      },
      [lon, lat] as [number, number],
    );
    await waitForMap(page);
    const d = 0.003;
    const corners: [number, number][] = [
      [lon - d, lat - d],
      [lon + d, lat - d],
      [lon + d, lat + d],
      [lon - d, lat + d],
    ];
    for (const [x, y] of corners) {
      const [px, py] = await mapPixel(page, x, y);
      await page.mouse.move(px, py);
      await page.mouse.click(px, py);
      await page.waitForTimeout(150);
    }
    const [fx, fy] = await mapPixel(page, corners[0]![0], corners[0]![1]);
    await page.mouse.move(fx, fy);
    await page.mouse.click(fx, fy);
    expect(await page.getByTestId('shape-problem').count()).toBe(0);
    await page.getByTestId('zone-name').fill('禁止区域：端到端测试网吧');
    await choose(page, 'dry-run-subject', mover.subjectName);
    await page.getByTestId('dry-run').click();
    await page.getByTestId('dry-run-result').waitFor({ timeout: 30_000 });
    await screenshot(page, '05-zone-editor');
    await page.getByTestId('zone-save').click();
    await page.getByTestId('zone-list').getByText('禁止区域：端到端测试网吧').waitFor();
    const zones = await api('/zones?limit=500', await token());
    const saved = zones.items.find((z: { name: string }) => z.name === '禁止区域：端到端测试网吧');
    expect(saved).toMatchObject({
      kind: 'exclusion',
      purpose: 'prohibited',
      geometry: { type: 'Polygon' },
    });
    // Drawn on the WGS-84 offline basemap: the corners come back where they were put.
    const ring = saved.geometry.coordinates[0] as [number, number][];
    expect(ring.length).toBe(5);
    for (const [x, y] of corners) {
      expect(ring.some(([rx, ry]) => Math.abs(rx - x) < 2e-4 && Math.abs(ry - y) < 2e-4)).toBe(
        true,
      );
    }
  }, 120_000);

  it('draws the basemap of a self-hosted raster tile server and of a PMTiles archive', async () => {
    // Served from the deployment's own web server (here the dashboard folder): a tile
    // server's {z}/{x}/{y} PNGs (one magenta tile for every address) and a PMTiles file
    // read with HTTP range requests (one green z0 tile, drawn over-zoomed).
    const dir = join(served, 'e2e-basemap');
    mkdirSync(dir, { recursive: true });
    const magenta: [number, number, number] = [200, 40, 160];
    const green: [number, number, number] = [40, 190, 110];
    writeFileSync(join(dir, 'tile.png'), solidPng(magenta));
    writeFileSync(join(dir, 'green.pmtiles'), singleTilePmtiles(solidPng(green)));
    const sources: [string, object, [number, number, number]][] = [
      ['raster', { kind: 'raster', tiles: [`${base}/e2e-basemap/tile.png?{z}/{x}/{y}`] }, magenta],
      ['pmtiles', { kind: 'pmtiles', url: `${base}/e2e-basemap/green.pmtiles` }, green],
    ];
    try {
      for (const [name, config, colour] of sources) {
        await page.getByTestId('nav-settings').click();
        await page.getByTestId('map-config-input').fill(JSON.stringify(config));
        await page.getByTestId('map-config-apply').click();
        await page.getByTestId('nav-monitor').click();
        await page.locator('[data-testid="monitor-map"][data-map-ready="true"]').waitFor();
        // Most of the map is the tile's colour (subjects, zones and borders are drawn on it).
        await poll(() => mapColourShare(page, colour)).toBeGreaterThan(0.5);
        await screenshot(page, `13-basemap-${name}`);
      }
    } finally {
      await page.evaluate(() => localStorage.removeItem('ccm.mapConfig')).catch(() => {});
    }
  }, 120_000);

  it('on a GCJ-02 basemap, shows positions converted and saves a drawn zone back in WGS-84', async () => {
    try {
      await onGcj02Basemap();
    } finally {
      // The trial basemap is this browser's only: later steps use the offline one again.
      await page.evaluate(() => localStorage.removeItem('ccm.mapConfig')).catch(() => {});
    }
  }, 120_000);

  async function onGcj02Basemap() {
    // A deployment whose tiles are in GCJ-02 (an AMap-style tile server): tried in this
    // browser through 地图设置. No tiles exist here; what matters is where things are drawn.
    await page.getByTestId('nav-settings').click();
    await page
      .getByTestId('map-config-input')
      .fill(
        JSON.stringify({ kind: 'raster', tiles: ['/no-tiles-here/{z}/{x}/{y}.png'], crs: 'GCJ02' }),
      );
    await page.getByTestId('map-config-apply').click();
    await page.getByText('GCJ02').first().waitFor();

    await page.getByTestId('nav-monitor').click();
    await page
      .locator('[data-testid="monitor-map"][data-map-ready="true"]')
      .waitFor()
      .catch(async (err: Error) => {
        await screenshot(page, 'debug-gcj');
        const state = await page.evaluate(() => {
          const m = (
            window as unknown as { ccmMap?: { isStyleLoaded(): boolean; loaded(): boolean } }
          ).ccmMap;
          return JSON.stringify({
            ready: document
              .querySelector('[data-testid="monitor-map"]')
              ?.getAttribute('data-map-ready'),
            url: location.href,
            style: m?.isStyleLoaded(),
            loaded: m?.loaded(),
          });
        });
        throw new Error(`${err.message} ${state} ${consoleErrors.join(' | ')}`);
      });
    // The card shows the WGS-84 position the map draws from (the same live state).
    await page.locator(`[data-testid="subject-row"][data-subject-id="${mover.subjectId}"]`).click();
    const cardPosition = async (): Promise<[number, number]> => {
      const [lat, lon] = (await page.getByTestId('card-position').textContent())!
        .split(',')
        .map(Number);
      return [lon!, lat!];
    };
    // Where the map draws the subject, centred on it and close enough not to cluster it.
    const drawnAt = async () => {
      const centre = gcoord.transform(await cardPosition(), gcoord.WGS84, gcoord.GCJ02);
      return page.evaluate(
        ({ id, at }) => {
          const map = (
            window as unknown as {
              ccmMap: {
                jumpTo(o: object): void;
                getZoom(): number;
                getSource(s: string): unknown;
                querySourceFeatures(
                  s: string,
                ): { properties: Record<string, unknown>; geometry: { coordinates: number[] } }[];
              };
            }
          ).ccmMap;
          if (!map.getSource('subjects')) return null;
          if (map.getZoom() < 12.9) map.jumpTo({ center: at, zoom: 13 });
          const f = map.querySourceFeatures('subjects').find((x) => x.properties.subjectId === id);
          return (f?.geometry.coordinates as [number, number] | undefined) ?? null;
        },
        { id: mover.subjectId, at: centre as [number, number] },
      );
    };
    await poll(drawnAt).not.toBeNull();
    // Drawn where GCJ-02 tiles show that place, hundreds of metres from the raw WGS-84 point.
    const offsets = async () => {
      const wgs = await cardPosition();
      const drawn = (await drawnAt())!;
      const shown = gcoord.transform(wgs, gcoord.WGS84, gcoord.GCJ02) as [number, number];
      return { fromShown: distance(drawn, shown), fromRaw: distance(drawn, wgs) };
    };
    await poll(async () => (await offsets()).fromShown).toBeLessThan(2);
    expect((await offsets()).fromRaw).toBeGreaterThan(200);

    await page.getByTestId('nav-zones').click();
    await page.getByTestId('zone-new').click();
    await page.getByTestId('zone-form').getByText('GCJ02').waitFor();
    await waitForMap(page);
    // Some 4 km from the subject's home: a place of no importance to the demo.
    const [lon, lat] = [mover.places.home[0] + 0.03, mover.places.home[1] + 0.03];
    const corners: [number, number][] = [
      [lon - 0.002, lat - 0.002],
      [lon + 0.002, lat - 0.002],
      [lon + 0.002, lat + 0.002],
      [lon - 0.002, lat + 0.002],
    ];
    const display = corners.map(
      (c) => gcoord.transform(c, gcoord.WGS84, gcoord.GCJ02) as [number, number],
    );
    await page.evaluate(([x, y]) => {
      const map = (window as unknown as { ccmMap: { jumpTo(o: object): void } }).ccmMap;
      map.jumpTo({ center: [x, y], zoom: 15 });
    }, display[0]!);
    await waitForMap(page);
    for (const [x, y] of [...display, display[0]!]) {
      const [px, py] = await mapPixel(page, x, y);
      await page.mouse.move(px, py);
      await page.mouse.click(px, py);
      await page.waitForTimeout(150);
    }
    await page.getByTestId('zone-name').fill('禁止区域：火星坐标底图上画的');
    await page.getByTestId('zone-save').click();
    await page.getByTestId('zone-list').getByText('禁止区域：火星坐标底图上画的').waitFor();
    const zones = await api('/zones?limit=500', await token());
    const saved = zones.items.find(
      (z: { name: string }) => z.name === '禁止区域：火星坐标底图上画的',
    );
    const ring = saved.geometry.coordinates[0] as [number, number][];
    for (const c of corners) {
      expect(Math.min(...ring.map((r) => distance(r, c)))).toBeLessThan(15);
    }
    await screenshot(page, '05b-zone-on-gcj02-basemap');

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('map-config-reset').click();
    await page.getByText('离线底图（随平台打包）').first().waitFor();
  }

  it('plays back the moving subject’s track', async () => {
    await page.goto(`${base}/subjects/${mover.subjectId}`);
    await page.getByTestId('subject-profile').waitFor();
    await page.getByTestId('track-load').click();
    const count = page.getByTestId('track-count');
    await count.waitFor({ timeout: 30_000 });
    const total = Number((await count.textContent())!.split('/')[1]!.match(/\d+/)![0]);
    expect(total).toBeGreaterThan(3);
    await choose(page, 'track-speed', '10×');
    await page.getByTestId('track-play').click();
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add(Number((await count.textContent())!.match(/\d+/)![0]));
          return seen.size;
        },
        { timeout: 30_000, interval: 100 },
      )
      .toBeGreaterThan(2);
    // Played from the start: fewer fixes than the whole track were drawn on the way.
    expect(Math.min(...seen)).toBeLessThan(total);
    await waitForMap(page);
    await expectMapDrawn(page, ['track-fix']);
    await screenshot(page, '06-track-playback');
  }, 120_000);

  it('records education hours on the subject page and voids a wrong entry with its reason', async () => {
    await page.goto(`${base}/subjects/${mover.subjectId}`);
    await page.getByTestId('subject-supervision').waitFor();
    await page.getByRole('tab', { name: '教育与公益' }).click();
    const form = page.getByTestId('activity-form');
    await form.waitFor();
    await form.locator('.ant-input-number-input').fill('7.5');
    await form.locator('button[type="submit"]').click();
    const activities = page.getByTestId('subject-activities');
    await activities.getByRole('cell', { name: '7.5', exact: true }).waitFor();
    await activities.getByTestId('activity-void').first().click();
    await page.getByTestId('activity-void-reason').fill('应为 2.5 小时，录入错误');
    // antd spaces two-character button labels: 「作 废」.
    await page
      .getByRole('dialog')
      .getByRole('button', { name: /作\s?废/ })
      .click();
    await activities.getByTestId('activity-voided').waitFor();
    await poll(() => activities.textContent()).toContain('教育学习 0 小时');
    const stored = await api(`/subjects/${mover.subjectId}/activities`, await token());
    expect(stored.items[0]).toMatchObject({
      hours: 7.5,
      voided: { reason: '应为 2.5 小时，录入错误' },
    });
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await screenshot(page, '14-activity-voided');
  }, 120_000);

  it('shows devices and statistics, and sends a locate command', async () => {
    await page.getByTestId('nav-devices').click();
    await page.getByTestId('device-table').waitFor();
    await screenshot(page, '07-devices');
    await page.getByTestId('cmd-locate').first().click();
    await page.getByTestId('command-row').first().waitFor({ timeout: 15_000 });
    await screenshot(page, '07-device-commands');
    await page.keyboard.press('Escape');
    await page.getByTestId('nav-statistics').click();
    await page.getByTestId('chart-by-type').locator('canvas').waitFor({ timeout: 30_000 });
    await screenshot(page, '08-statistics');
  }, 60_000);

  it('switches to English', async () => {
    await page.getByTestId('nav-monitor').click();
    await page.getByTestId('language').getByText('EN').click();
    await poll(() => page.getByTestId('nav-monitor').textContent()).toBe('Live monitoring');
    expect(await page.getByTestId('nav-alerts').textContent()).toContain('Alerts');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await waitForMap(page);
    await screenshot(page, '09-monitor-english');
    // The choice is kept for the next visit.
    await page.reload();
    await poll(() => page.getByTestId('nav-monitor').textContent()).toBe('Live monitoring');
    await page.getByTestId('language').getByText('中文').click();
  }, 60_000);

  it('works on an officer’s phone and on a wall screen', async () => {
    const token0 = await token();
    for (const [name, viewport] of [
      ['10-phone', { width: 390, height: 844 }],
      ['11-wall', { width: 2560, height: 1440 }],
    ] as const) {
      const ctx = await browser.newContext({
        viewport,
        locale: 'zh-CN',
        isMobile: name === '10-phone',
      });
      const p = await ctx.newPage();
      await p.goto(`${base}/login`);
      await p.evaluate((t) => sessionStorage.setItem('ccm.token', t), token0);
      await p.goto(`${base}/`);
      await p.getByTestId('subject-list').waitFor({ timeout: 30_000 });
      await waitForMap(p);
      await screenshot(p, name);
      await expectMapDrawn(p, ['subjects-points', 'subjects-clusters']);
      await ctx.close();
    }
  }, 120_000);

  it('a police partner sees only the position query, and its result on the map', async () => {
    const ctx = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      locale: 'zh-CN',
    });
    const p = await ctx.newPage();
    await signIn(p, 'police.nanning');
    await poll(() => p.url()).toBe(`${base}/police`);
    await p.getByTestId('police-page').waitFor();
    // One screen in the menu, and no other screen opens.
    const nav = await p
      .locator('[data-testid^="nav-"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    expect(nav).toEqual(['nav-police']);
    expect(await p.getByTestId('live-status').count()).toBe(0);
    for (const path of ['/alerts', '/subjects', '/zones', '/devices', '/statistics']) {
      await p.goto(`${base}${path}`);
      await p.getByText('403').first().waitFor();
    }
    await p.goto(`${base}/`);
    await poll(() => p.url()).toBe(`${base}/police`);

    await choose(p, 'police-subject', mover.subjectName);
    await p.getByTestId('police-basis').fill('《刑事诉讼法》第一百一十五条');
    await p.getByTestId('police-case').fill('南公刑（2026）0815号');
    await p.getByTestId('police-submit').click();
    const result = p.getByTestId('police-result');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toMatch(/\d+ 个定位点/);
    await waitForMap(p);
    await screenshot(p, '12-police');
    await expectMapDrawn(p, ['police-fix']);
    await ctx.close();
  }, 120_000);

  it('raised no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
