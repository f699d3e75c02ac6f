import { sql, type Kysely } from 'kysely';
import type { MqttClient } from 'mqtt';
import { CommandMessage, CommandParams, deviceTopic, type CommandType } from '@ccm/contracts';
import type { DB } from '@ccm/db';

/**
 * Downlink commands (`warn`, `locate`, `set_interval`, `checkin_request`): queued in
 * `device_commands` by the server or the rules engine, published here with QoS 1 on
 * `ccm/v1/dev/{id}/cmd`, and closed by the device's `cmd/result` (stored by the pipeline).
 */
export interface QueueCommand {
  deviceId: string;
  type: CommandType;
  params: unknown;
  /** How long the command stays valid, ms (the device ignores it after `expires`). */
  ttlMs: number;
  createdBy: string | null;
}

/** Validates the params for the type and queues the command; returns its id. */
export async function queueCommand(db: Kysely<DB>, command: QueueCommand): Promise<string> {
  const params = CommandParams[command.type].parse(command.params);
  const row = await db
    .insertInto('device_commands')
    .values({
      device_id: command.deviceId,
      type: command.type,
      params: JSON.stringify(params),
      expires_at: new Date(Date.now() + command.ttlMs),
      created_by: command.createdBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface CommandDispatcher {
  /** Publishes what is pending now (also runs on its own timer). */
  flush(): Promise<number>;
  close(): void;
}

/**
 * Publishes pending commands every `intervalMs`. Claiming uses `FOR UPDATE SKIP LOCKED`, so
 * several dispatchers (one per server process) never send the same command twice.
 */
export function startCommandDispatcher(
  db: Kysely<DB>,
  client: MqttClient,
  options: { intervalMs?: number; onError?: (err: unknown) => void } = {},
): CommandDispatcher {
  let running: Promise<number> | undefined;
  const flushOnce = async (): Promise<number> => {
    if (!client.connected) return 0;
    await db
      .updateTable('device_commands')
      .set({ status: 'expired' })
      .where('status', 'in', ['pending', 'sent'])
      .where('expires_at', '<', new Date())
      .execute();
    return db.transaction().execute(async (trx) => {
      const pending = await trx
        .selectFrom('device_commands')
        .select(['id', 'device_id', 'type', 'params', 'expires_at'])
        .where('status', '=', 'pending')
        .orderBy('created_at')
        .limit(500)
        .forUpdate()
        .skipLocked()
        .execute();
      // All published at once, in order on the one connection, then their PUBACKs awaited
      // together: one after another held this transaction open for a broker round trip per
      // command (a wave of alerts queues a warn and a set_interval each).
      await Promise.all(
        pending.map((c) => {
          const message = CommandMessage.parse({
            id: c.id,
            type: c.type,
            params: c.params,
            expires: c.expires_at.getTime(),
          });
          return client.publishAsync(deviceTopic(c.device_id, 'cmd'), JSON.stringify(message), {
            qos: 1,
          });
        }),
      );
      if (pending.length > 0) {
        await trx
          .updateTable('device_commands')
          .set({ status: 'sent', sent_at: sql<Date>`now()` })
          .where(
            'id',
            'in',
            pending.map((c) => c.id),
          )
          .execute();
      }
      return pending.length;
    });
  };
  const flush = () => {
    running ??= flushOnce().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    flush().catch((err) => options.onError?.(err));
  }, options.intervalMs ?? 1000);
  return {
    flush,
    close: () => clearInterval(timer),
  };
}
