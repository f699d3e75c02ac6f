import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ccm/contracts';
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

  it('treats empty strings as unset', () => {
    expect(loadServerConfig({ DATABASE_URL: '', PORT: '' }).PORT).toBe(8080);
  });
});
