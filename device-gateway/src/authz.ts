import { DEVICE_ID_PATTERN, TOPIC_PREFIX } from '@ccm/contracts';

/**
 * Topic authorisation of the device contract: a device publishes only under
 * `ccm/v1/dev/{its own id}/…` (its uplink kinds) and subscribes only to its own `ack` and
 * `cmd`. Shared by the embedded broker's hooks and the HTTP ACL endpoint for EMQX.
 */
const UPLINK = new Set(['fix', 'event', 'hb', 'checkin', 'cmd/result', 'status']);
const DOWNLINK = new Set(['ack', 'cmd']);

export const isValidClientId = (clientId: string): boolean => DEVICE_ID_PATTERN.test(clientId);

function kindOf(deviceId: string, topic: string): string | null {
  const prefix = `${TOPIC_PREFIX}/${deviceId}/`;
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : null;
}

export function mayPublish(deviceId: string, topic: string): boolean {
  const kind = kindOf(deviceId, topic);
  return kind !== null && UPLINK.has(kind);
}

export function maySubscribe(deviceId: string, topicFilter: string): boolean {
  const kind = kindOf(deviceId, topicFilter);
  return kind !== null && DOWNLINK.has(kind);
}
