import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DemoTerminalPlan, DemoWristbandPlan, DemoZone } from './demo-plan';

/**
 * `${dataDir}/demo-devices.json`: what a fleet needs to run without the database: every
 * demo device with its secret, each subject's places, and the zones scenarios aim at. The
 * database keeps only the secrets' hashes, so this file (mode 0600) is the one place the
 * secrets live; keeping it keeps them stable across runs.
 */
export const MANIFEST_FILE = 'demo-devices.json';
export const MANIFEST_FORMAT = 'ccm-demo-devices/1';

export type DemoWristband = DemoWristbandPlan & { secret: string };
export type DemoTerminal = DemoTerminalPlan & { secret: string };
export type DemoDevice = DemoWristband | DemoTerminal;

export interface DemoManifest {
  format: typeof MANIFEST_FORMAT;
  seed: number;
  wristbands: DemoWristband[];
  terminals: DemoTerminal[];
  zones: DemoZone[];
}

export const manifestPath = (dataDir: string) => join(dataDir, MANIFEST_FILE);

/** The manifest in `dataDir`, or null when there is none. */
export async function loadManifest(dataDir: string): Promise<DemoManifest | null> {
  let text: string;
  try {
    text = await readFile(manifestPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<DemoManifest>;
  if (parsed.format !== MANIFEST_FORMAT || !Array.isArray(parsed.wristbands)) {
    throw new Error(`${manifestPath(dataDir)} is not a ${MANIFEST_FORMAT} file`);
  }
  return parsed as DemoManifest;
}

/** Writes the manifest atomically with mode 0600; returns false when it was already so. */
export async function saveManifest(dataDir: string, manifest: DemoManifest): Promise<boolean> {
  const path = manifestPath(dataDir);
  const text = `${JSON.stringify(manifest)}\n`;
  let current: string | null = null;
  try {
    current = await readFile(path, 'utf8');
  } catch {
    current = null;
  }
  await mkdir(dataDir, { recursive: true });
  if (current === text) {
    await chmod(path, 0o600);
    return false;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return true;
}

/** Every device of the manifest (wristbands first). */
export const manifestDevices = (m: DemoManifest): DemoDevice[] => [...m.wristbands, ...m.terminals];
