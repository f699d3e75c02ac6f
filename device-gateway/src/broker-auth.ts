import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { isValidClientId, mayPublish, maySubscribe } from './authz';
import { verifyDeviceSecret } from './secrets';

/**
 * Who a broker client is, decided at CONNECT: the platform's own account (gateway, server),
 * or a registered device whose secret verified. Used by the in-process broker's hooks and by
 * the HTTP auth/ACL endpoint that EMQX calls.
 */
export type ClientIdentity = { kind: 'platform' } | { kind: 'device'; deviceId: string };

export type AuthResult =
  | { ok: true; identity: ClientIdentity }
  | { ok: false; reason: 'bad_client_id' | 'unknown_device' | 'bad_secret' | 'inactive_device' };

export interface PlatformAccount {
  username: string;
  password: string;
}

export class BrokerAuthorizer {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly platform: PlatformAccount,
  ) {}

  async authenticate(
    clientId: string,
    username: string | undefined,
    password: string | undefined,
  ): Promise<AuthResult> {
    if (username === this.platform.username) {
      return password === this.platform.password
        ? { ok: true, identity: { kind: 'platform' } }
        : this.#refuse(clientId, 'bad_secret');
    }
    // Contract: clientId = username = device id, [A-Za-z0-9_-]{3,64}.
    if (!isValidClientId(clientId) || username !== clientId) {
      return this.#refuse(clientId, 'bad_client_id');
    }
    const device = await this.db
      .selectFrom('devices')
      .select(['secret_hash', 'status'])
      .where('id', '=', clientId)
      .executeTakeFirst();
    if (!device) return this.#refuse(clientId, 'unknown_device');
    if (!password || !verifyDeviceSecret(device.secret_hash, password)) {
      return this.#refuse(clientId, 'bad_secret');
    }
    if (device.status === 'retired') return this.#refuse(clientId, 'inactive_device');
    return { ok: true, identity: { kind: 'device', deviceId: clientId } };
  }

  mayPublish(identity: ClientIdentity, topic: string): boolean {
    if (identity.kind === 'platform') return true;
    const ok = mayPublish(identity.deviceId, topic);
    if (!ok)
      this.record(
        identity.deviceId,
        'publish_refused',
        topic,
        'topic outside the device’s own uplink',
      );
    return ok;
  }

  maySubscribe(identity: ClientIdentity, filter: string): boolean {
    if (identity.kind === 'platform') return true;
    const ok = maySubscribe(identity.deviceId, filter);
    if (!ok)
      this.record(identity.deviceId, 'subscribe_refused', filter, 'only its own ack and cmd');
    return ok;
  }

  /** Security events are written on their own (a refusal has no batch to ride with). */
  record(clientId: string | null, kind: string, topic: string | null, detail: string): void {
    this.db
      .insertInto('security_events')
      .values({
        client_id: clientId?.slice(0, 128) ?? null,
        kind,
        topic: topic?.slice(0, 512) ?? null,
        detail,
      })
      .execute()
      .catch(() => undefined); // best effort: the refusal itself already happened
  }

  #refuse(clientId: string, reason: Extract<AuthResult, { ok: false }>['reason']): AuthResult {
    this.record(clientId, 'connect_refused', null, reason);
    return { ok: false, reason };
  }
}
