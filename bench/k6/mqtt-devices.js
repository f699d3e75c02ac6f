/* global __ENV, __VU, open */
// CCM device load over MQTT for k6 with the MQTT extension (k6/x/mqtt, xk6-mqtt): every VU is
// one registered device that follows the device contract (shared/contracts/device-mqtt.md):
// its own client id, user name and secret, a growing seq, a fix message every INTERVAL_S
// seconds on ccm/v1/dev/{id}/fix at QoS 1, and the platform's `ack` on ccm/v1/dev/{id}/ack.
// It measures publish → ack (= committed to the database) latency and counts what was
// published and acknowledged. See bench/k6/README.md.
//
//   k6 run -e MQTT_URL=mqtts://mqtt.ccm.example.internal:8883 -e DEVICES=devices.json \
//          -e INTERVAL_S=5 -e FIXES=1 -e DURATION_S=300 bench/k6/mqtt-devices.js
//
// devices.json: [{"id":"wb-load-0001","secret":"…"}, …], devices registered for the test
// (with a monitoring order, or their fixes are acknowledged but not stored as positions).
import { Client } from 'k6/x/mqtt';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';

const MQTT_URL = __ENV.MQTT_URL || 'mqtt://127.0.0.1:1883';
const INTERVAL_S = Number(__ENV.INTERVAL_S || 60);
const FIXES = Number(__ENV.FIXES || 1);
const DURATION_S = Number(__ENV.DURATION_S || 300);
// seq grows across the device's life (contract): start above the last seq the platform has
// for these devices (SELECT max(last_seq) FROM device_state …), or the first acks wait for
// the gateway's gap timeout.
const SEQ_START = Number(__ENV.SEQ_START || 1);

const devices = new SharedArray('devices', () =>
  JSON.parse(open(__ENV.DEVICES || './devices.json')),
);

const ackLatency = new Trend('ccm_ack_latency', true);
const fixesPublished = new Counter('ccm_fixes_published');
const messagesAcked = new Counter('ccm_messages_acked');

export const options = {
  scenarios: {
    devices: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.VUS || devices.length),
      iterations: 1,
      maxDuration: `${DURATION_S + 120}s`,
    },
  },
  thresholds: {
    // An ack means "stored": 99 % within 2 s (the platform batches for ≤ 20 ms).
    ccm_ack_latency: ['p(99)<2000'],
    mqtt_errors: ['count==0'],
  },
};

const decode = (buf) => String.fromCharCode.apply(null, new Uint8Array(buf));

export default function () {
  const device = devices[(__VU - 1) % devices.length];
  const fixTopic = `ccm/v1/dev/${device.id}/fix`;
  const ackTopic = `ccm/v1/dev/${device.id}/ack`;
  const client = new Client({
    client_id: device.id,
    username: device.id,
    password: device.secret,
    will: { topic: `ccm/v1/dev/${device.id}/status`, payload: 'offline', qos: 1, retain: true },
  });
  let seq = SEQ_START - 1;
  let lastT = 0;
  const sentAt = new Map(); // seq → publish time, until an ack covers it
  // A start position per device, then a slow walk (≈ 1 m/s).
  let lat = 22.75 + (__VU % 100) * 0.002;
  let lon = 108.3 + Math.floor(__VU / 100) * 0.002;

  client.on('message', (topic, payload) => {
    if (topic !== ackTopic) return;
    const ack = JSON.parse(decode(payload)).seq;
    const now = Date.now();
    for (const [s, t] of sentAt) {
      if (s > ack) continue;
      ackLatency.add(now - t);
      messagesAcked.add(1);
      sentAt.delete(s);
    }
  });

  const publishFix = () => {
    const fixes = [];
    for (let k = 0; k < FIXES; k++) {
      lat += (Math.random() - 0.5) * 0.00002;
      lon += (Math.random() - 0.5) * 0.00002;
      lastT = Math.max(lastT + 1000, Date.now() - (FIXES - 1 - k) * 1000);
      fixes.push({
        t: lastT,
        lat: +lat.toFixed(6),
        lon: +lon.toFixed(6),
        acc: 6.5,
        src: 'gnss',
        sat: 9,
      });
    }
    seq += 1;
    sentAt.set(seq, Date.now());
    client.publish(fixTopic, JSON.stringify({ seq, fixes }), { qos: 1 });
    fixesPublished.add(FIXES);
  };

  client.on('connect', async () => {
    await client.subscribeAsync(ackTopic, { qos: 1 });
    client.publish(`ccm/v1/dev/${device.id}/status`, 'online', { qos: 1, retain: true });
    // Spread the fleet over the interval, as real devices are.
    setTimeout(
      () => {
        publishFix();
        const timer = setInterval(publishFix, INTERVAL_S * 1000);
        setTimeout(() => {
          clearInterval(timer);
          // Give the last acks a moment, then leave cleanly.
          setTimeout(() => client.end(), 5000);
        }, DURATION_S * 1000);
      },
      Math.random() * INTERVAL_S * 1000,
    );
  });

  client.connect(MQTT_URL, { keepalive: 60, clean_session: true });
}
