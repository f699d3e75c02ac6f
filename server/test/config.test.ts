import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@ccm/contracts';
import { buildApp } from '../src/app';
import { loadServerConfig } from '../src/config';

describe('server config', () => {
  it('has embedded defaults when nothing is set', () => {
    const config = loadServerConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.MQTT_URL).toBeUndefined();
    expect(config.MQTT_LISTEN_PORT).toBe(1883);
    expect(config.CCM_DATA_DIR).toBe('./data');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x@localhost/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ MQTT_URL: 'http://broker:1883' }, 'MQTT_URL'],
    [{ MQTT_LISTEN_PORT: '-1' }, 'MQTT_LISTEN_PORT'],
    [{ CCM_ADMIN_USERNAME: 'admin' }, 'CCM_ADMIN_PASSWORD'],
    [{ CCM_ADMIN_USERNAME: 'admin', CCM_ADMIN_PASSWORD: 'short' }, 'CCM_ADMIN_PASSWORD'],
    [{ CCM_TIMESCALEDB: 'maybe' }, 'CCM_TIMESCALEDB'],
    [{ CCM_RETENTION_DAYS: '3' }, 'CCM_RETENTION_DAYS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('refuses %j naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadServerConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.some((p) => p.startsWith(`${variable}:`))).toBe(true);
    expect((error as Error).message).toContain(variable);
  });

  describe('CCM_MAP_CONFIG (the dashboard basemap file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccm-map-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const problemsOf = (path: string) => {
      try {
        loadServerConfig({ CCM_MAP_CONFIG: path });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      throw new Error('accepted');
    };

    it('is read and checked against the dashboard schema at start, defaults filled in', () => {
      const path = file(
        'raster.json',
        JSON.stringify({ kind: 'raster', tiles: ['https://tiles.example.gov.cn/{z}/{x}/{y}.png'] }),
      );
      expect(loadServerConfig({ CCM_MAP_CONFIG: path }).CCM_MAP_CONFIG).toEqual({
        file: path,
        value: {
          kind: 'raster',
          tiles: ['https://tiles.example.gov.cn/{z}/{x}/{y}.png'],
          tileSize: 256,
          maxzoom: 18,
          attribution: '',
          crs: 'WGS84',
        },
      });
    });

    it('is what the server sends the dashboard as /map-config.json', async () => {
      const path = file(
        'tdt.ok.json',
        JSON.stringify({ kind: 'tianditu', key: 'deployment-key-1' }),
      );
      const { CCM_MAP_CONFIG } = loadServerConfig({ CCM_MAP_CONFIG: path });
      const app = await buildApp({
        health: async () => {
          throw new Error('not used');
        },
        dashboard: { dir: dir, mapConfig: CCM_MAP_CONFIG?.value },
      });
      const res = await app.inject({ method: 'GET', url: '/map-config.json' });
      await app.close();
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.json()).toEqual({
        kind: 'tianditu',
        key: 'deployment-key-1',
        layer: 'vec',
        labels: true,
      });
    });

    it.each([
      ['a missing file', () => join(dir, 'nope.json'), /cannot read .*nope\.json as JSON/],
      ['not JSON', () => file('bad.json', '{kind: offline'), /cannot read .*bad\.json as JSON/],
      ['an unknown kind', () => file('kind.json', '{"kind":"google"}'), /kind: /],
      ['天地图 without its key', () => file('tdt.json', '{"kind":"tianditu"}'), /key: /],
      [
        'a CRS the map cannot convert',
        () => file('crs.json', '{"kind":"style","url":"/s.json","crs":"EPSG:3857"}'),
        /crs: /,
      ],
    ])('refuses %s, naming the variable and the field', (_what, path, pattern) => {
      const problems = problemsOf(path());
      expect(problems.every((p) => p.startsWith('CCM_MAP_CONFIG: '))).toBe(true);
      expect(problems.join('\n')).toMatch(pattern);
    });
  });

  it('treats empty strings as unset', () => {
    expect(loadServerConfig({ DATABASE_URL: '', PORT: '' }).PORT).toBe(8080);
  });
});
