import { createServer, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { BrokerAuthorizer, ClientIdentity } from '@ccm/device-gateway';

/**
 * The in-process MQTT broker (aedes) for the zero-install default. Production uses an
 * external broker (EMQX, Mosquitto: see deploy/). It keeps QoS 1 messages in memory until
 * delivered; a restart of the process drops them, which the device contract tolerates:
 * devices re-send everything not covered by an `ack`.
 *
 * Every client authenticates: devices with their secret, the platform with its own account.
 * A device may publish only under its own id and subscribe only to its own ack and cmd.
 */
export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const identities = new WeakMap<Client, ClientIdentity>();

class ConnectRefused extends Error {
  constructor(readonly returnCode: number) {
    super('connection refused');
  }
}

export async function startEmbeddedBroker(options: {
  port: number;
  host: string;
  auth: BrokerAuthorizer;
}): Promise<EmbeddedBroker> {
  const { auth } = options;
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      auth
        .authenticate(client.id, username ?? undefined, password?.toString('utf8'))
        .then((result) => {
          if (result.ok) {
            identities.set(client, result.identity);
            done(null, true);
          } else {
            // 5: not authorised (MQTT 3.1.1 CONNACK return code)
            done(new ConnectRefused(5) as never, false);
          }
        })
        .catch(() => done(new ConnectRefused(3) as never, false)); // 3: server unavailable
    },
    authorizePublish: (client, packet, callback) => {
      if (!client) return callback(null); // the broker's own (will) messages
      const identity = identities.get(client);
      if (identity && auth.mayPublish(identity, packet.topic)) return callback(null);
      callback(new Error('publish not authorised'));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const identity = identities.get(client);
      if (identity && auth.maySubscribe(identity, subscription.topic)) {
        return callback(null, subscription);
      }
      callback(null, null); // refused: SUBACK 0x80 for this filter
    },
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const connectHost =
    options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `mqtt://${connectHost}:${port}`,
    port,
    async close() {
      // The broker first: it disconnects its clients, which lets the listener close.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
