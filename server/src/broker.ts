import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

/**
 * The in-process MQTT broker (aedes) for the zero-install default. Production uses an
 * external broker (EMQX, Mosquitto: see deploy/). It keeps QoS 1 messages in memory until
 * delivered; a restart of the process drops them, which the device contract tolerates:
 * devices re-send everything not covered by an `ack`.
 */
export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: {
  port: number;
  host: string;
}): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
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
