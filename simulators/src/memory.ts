import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LonLat } from './geo';

/**
 * What a device remembers across reboots: its next `seq` (the contract: seq only grows and
 * survives a reboot) and its last fix. Kept in `${dataDir}/demo-device-state.json`, so a
 * restarted fleet or a second CLI run goes on where the last one stopped: no gap in seq for
 * the platform to wait out, and no scenario rewriting history its device already reported.
 *
 * Losing the file (or a crash before saving) is harmless: without an entry a device starts
 * from a time-based seq, which only grows; the platform forgives the jump after its gap
 * timeout, and a seq at or below the platform's ack is simply acknowledged again.
 */
export interface DeviceMemoryEntry {
  seq: number;
  /** Last fix time, ms. */
  t?: number;
  /** Last true position. */
  p?: LonLat;
}

export const MEMORY_FILE = 'demo-device-state.json';

export class DeviceMemory {
  #entries = new Map<string, DeviceMemoryEntry>();
  #dirty = false;

  private constructor(private readonly dataDir: string | null) {}

  /** Memory kept in `dataDir` (loaded now if the file exists). */
  static async load(dataDir: string): Promise<DeviceMemory> {
    const memory = new DeviceMemory(dataDir);
    try {
      const parsed = JSON.parse(await readFile(join(dataDir, MEMORY_FILE), 'utf8')) as Record<
        string,
        DeviceMemoryEntry
      >;
      for (const [id, e] of Object.entries(parsed)) {
        if (Number.isSafeInteger(e?.seq)) memory.#entries.set(id, e);
      }
    } catch {
      // no file yet, or unreadable: start afresh (see above)
    }
    return memory;
  }

  /** Memory that lives as long as the process (tests). */
  static ephemeral(): DeviceMemory {
    return new DeviceMemory(null);
  }

  get(deviceId: string): DeviceMemoryEntry | undefined {
    return this.#entries.get(deviceId);
  }

  /** The seq a device starts from: where it stopped, or a time-based one. */
  startSeq(deviceId: string): number {
    return this.#entries.get(deviceId)?.seq ?? Math.floor(Date.now() / 100);
  }

  remember(deviceId: string, entry: DeviceMemoryEntry): void {
    this.#entries.set(deviceId, entry);
    this.#dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dataDir || !this.#dirty) return;
    this.#dirty = false;
    await mkdir(this.dataDir, { recursive: true });
    const path = join(this.dataDir, MEMORY_FILE);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.#entries)), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }
}
