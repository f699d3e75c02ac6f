/**
 * The pass-through baseline's subscriber, run as its own process (as the gateway is): a bare
 * mqtt.js client on the same shared subscription the gateway uses, QoS 1, doing nothing with
 * a message but JSON.parse. Reports its count to the parent every 20 ms over IPC.
 *
 *   fork('bench/src/lib/bare-subscriber.ts', [mqttUrl], { execArgv: ['--import', 'tsx'] })
 */
import mqtt from 'mqtt';

const url = process.argv[2];
if (!url || !process.send) {
  console.error('usage: forked with an MQTT URL');
  process.exit(2);
}
let received = 0;
let bytes = 0;
let parseErrors = 0;
const client = mqtt.connect(url, {
  clientId: `bench-bare-${process.pid}`,
  clean: true,
  reconnectPeriod: 0,
});
client.on('message', (_topic, payload) => {
  try {
    JSON.parse(payload.toString());
  } catch {
    parseErrors++;
  }
  received++;
  bytes += payload.length;
});
client.on('connect', () => {
  client.subscribe('$share/bench-bare/ccm/v1/dev/+/fix', { qos: 1 }, (err) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    process.send!({ type: 'ready' });
  });
});
client.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});
const timer = setInterval(() => process.send!({ type: 'count', received, bytes, parseErrors }), 20);
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') {
    clearInterval(timer);
    process.send!({ type: 'count', received, bytes, parseErrors }, () => {
      client.end(true, {}, () => process.exit(0));
    });
  }
});
