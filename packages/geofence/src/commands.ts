import type { AlertType } from '@ccm/contracts';
import { ZONE_ALERT_TYPES } from './alerts';
import type { AlertRecord } from './state';
import type { AlertEvent, DeviceCommand, EngineOptions } from './types';

/** 警示告知 shown on the wristband, zh-CN (the wearer's language). */
export const WARN_TEXT: Readonly<Partial<Record<AlertType, string>>> = Object.freeze({
  zone_enter: '您已进入禁止区域，请立即离开',
  zone_exit: '您已离开活动区域，请立即返回',
  curfew: '现在是宵禁时段，您不在居住地，请立即返回',
});

/**
 * Commands follow the alerts: a warning for each zone violation that is open now (a late
 * one that already ended is history, not something to warn about), and the reporting
 * interval at 15 s while any zone violation is open, back to normal when none is. What an
 * approved leave authorises is no violation: no warning, no faster reporting.
 */
export function deriveCommands(
  events: readonly AlertEvent[],
  records: readonly AlertRecord[],
  commandedIntervalS: number | null,
  options: EngineOptions,
): { commands: DeviceCommand[]; commandedIntervalS: number | null } {
  const commands: DeviceCommand[] = [];
  const warned = new Set<string>();
  const violations = records.filter((r) => r.endedAtMs === null && r.authorisedBy === undefined);
  const stillOpen = new Set(violations.map((r) => r.key));
  for (const e of events) {
    const text = WARN_TEXT[e.type];
    if (e.action !== 'open' || !stillOpen.has(e.key) || !text || warned.has(text)) continue;
    warned.add(text);
    commands.push({ type: 'warn', params: { text, vibrate: true } });
  }
  const violating = violations.some((r) => ZONE_ALERT_TYPES.has(r.type));
  const target = violating ? options.violationIntervalS : options.normalIntervalS;
  if (target === (commandedIntervalS ?? options.normalIntervalS)) {
    return { commands, commandedIntervalS };
  }
  commands.push({ type: 'set_interval', params: { seconds: target } });
  return { commands, commandedIntervalS: target };
}
