import type { Kysely } from 'kysely';
import type { EventEmitter } from 'node:events';
import type { DB, Role } from '@ccm/db';
import type { AuthSettings } from './auth/service';
import type { StreamHub } from './stream/hub';

/**
 * What feature folders (subjects/, zones/, alerts/ …) receive: the narrow set of things a
 * route needs, never the whole platform.
 */
export interface FeatureDeps {
  db: Kysely<DB>;
  settings: ServerSettings;
  /**
   * Committed ingest batches ('committed': CommittedBatch from @ccm/device-gateway) when a
   * gateway runs in this process; the live stream listens here.
   */
  ingest?: EventEmitter;
  /** The live stream's fan-out; its WebSocket route is registered when present. */
  stream?: StreamHub;
}

export interface ServerSettings {
  auth: AuthSettings;
  /** Roles that see ID-card numbers in full; others see them masked. */
  idCardFullRoles: readonly Role[];
  /** An unacknowledged critical alert escalates to the bureau after this many minutes. */
  escalateAfterMinutes: number;
}
