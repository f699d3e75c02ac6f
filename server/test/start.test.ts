import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the same entry point as `npm start`, as a child process. */
function startServer(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('npm start (server/src/main.ts)', () => {
  it('comes up on embedded defaults, answers health, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccm-start-'));
    const server = startServer({ CCM_DATA_DIR: dir, PORT: '0', MQTT_LISTEN_PORT: '0' });
    try {
      let url: string | undefined;
      await expect
        .poll(
          () => {
            const line = server
              .output()
              .split('\n')
              .find((l) => l.includes('CCM is running'));
            url = line ? (JSON.parse(line) as { url: string }).url : undefined;
            return url;
          },
          { timeout: 60_000, interval: 250 },
        )
        .toBeDefined();
      await expect
        .poll(async () => (await fetch(`${url}/api/v1/health`)).status, { timeout: 20_000 })
        .toBe(200);
      const health = (await (await fetch(`${url}/api/v1/health`)).json()) as Record<
        string,
        unknown
      >;
      expect(health).toMatchObject({
        status: 'ok',
        database: { kind: 'pglite', status: 'up' },
        broker: { mode: 'embedded', status: 'up' },
      });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with --demo (what `npm start` passes): seeds the demo, runs devices, signs a demo officer in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccm-demo-'));
    const server = startServer(
      { CCM_DATA_DIR: dir, PORT: '0', MQTT_LISTEN_PORT: '0', CCM_DEMO_FLEET_SIZE: '3' },
      ['--demo'],
    );
    try {
      let url: string | undefined;
      await expect
        .poll(
          () => {
            const line = server
              .output()
              .split('\n')
              .find((l) => l.includes('CCM is running'));
            url = line ? (JSON.parse(line) as { url: string }).url : undefined;
            return url;
          },
          { timeout: 60_000, interval: 250 },
        )
        .toBeDefined();
      await expect
        .poll(() => server.output().includes('demo password'), { timeout: 60_000 })
        .toBe(true);
      const password = readFileSync(join(dir, 'demo-password.txt'), 'utf8').trim();
      expect(server.output()).toContain(password);
      // The banner lists the demo accounts as plain text.
      const officer = /^\s+(\S+)\s+officer\s/m.exec(server.output())?.[1];
      expect(officer).toBeDefined();
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: officer, password }),
      });
      expect(login.status).toBe(200);
      const token = ((await login.json()) as { token: string }).token;
      expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
      const subjects = await fetch(`${url}/api/v1/subjects`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(((await subjects.json()) as { items: unknown[] }).items.length).toBeGreaterThan(0);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops at start-up with a message naming a bad variable', async () => {
    const server = startServer({ PORT: 'not-a-port' });
    expect(await server.exited).toBe(78);
    expect(server.output()).toMatch(/PORT: /);
    expect(server.output()).toContain('invalid configuration');
  });

  it('stops at start-up when the basemap file named by CCM_MAP_CONFIG is wrong', async () => {
    const server = startServer({ CCM_MAP_CONFIG: '/nonexistent/ccm-map.json' });
    expect(await server.exited).toBe(78);
    expect(server.output()).toMatch(/CCM_MAP_CONFIG: cannot read \/nonexistent\/ccm-map\.json/);
  });
});
