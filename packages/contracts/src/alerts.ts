import { z } from 'zod';

/** Alert types fixed by the HTTP API contract (shared/contracts/http-api.md). */
export const ALERT_TYPES = [
  'zone_exit',
  'zone_enter',
  'curfew',
  'strap_tamper',
  'case_tamper',
  'battery_low',
  'battery_critical',
  'power_off',
  'no_signal',
  'no_location',
  'gnss_jamming',
  'checkin_missed',
  'checkin_failed',
  'device_separation',
  'sos',
] as const;
export const AlertType = z.enum(ALERT_TYPES);
export type AlertType = z.infer<typeof AlertType>;

export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export const AlertSeverity = z.enum(ALERT_SEVERITIES);
export type AlertSeverity = z.infer<typeof AlertSeverity>;

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export const AlertStatus = z.enum(ALERT_STATUSES);
export type AlertStatus = z.infer<typeof AlertStatus>;

/**
 * Default severity per alert type. Tamper and SOS are critical (防拆 / 求助); leaving the
 * county or entering a prohibited place is high; a province may override these in config.
 */
export const DEFAULT_ALERT_SEVERITY: Readonly<Record<AlertType, AlertSeverity>> = Object.freeze({
  zone_exit: 'high',
  zone_enter: 'high',
  curfew: 'high',
  strap_tamper: 'critical',
  case_tamper: 'high',
  battery_low: 'low',
  battery_critical: 'medium',
  power_off: 'high',
  no_signal: 'high',
  no_location: 'medium',
  gnss_jamming: 'high',
  checkin_missed: 'medium',
  checkin_failed: 'high',
  device_separation: 'high',
  sos: 'critical',
});

/** zh-CN first, English second: labels shown to users. */
export const ALERT_TYPE_LABELS: Readonly<Record<AlertType, { zh: string; en: string }>> =
  Object.freeze({
    zone_exit: { zh: '越界（离开活动区域）', en: 'Left inclusion zone' },
    zone_enter: { zh: '进入禁止区域', en: 'Entered exclusion zone' },
    curfew: { zh: '夜不归宿（宵禁）', en: 'Curfew breach' },
    strap_tamper: { zh: '腕带防拆报警', en: 'Strap tamper' },
    case_tamper: { zh: '设备外壳被打开', en: 'Case tamper' },
    battery_low: { zh: '电量低', en: 'Battery low' },
    battery_critical: { zh: '电量严重不足', en: 'Battery critical' },
    power_off: { zh: '设备关机', en: 'Device powered off' },
    no_signal: { zh: '设备失联', en: 'No signal' },
    no_location: { zh: '无法定位', en: 'No location' },
    gnss_jamming: { zh: '定位信号干扰', en: 'GNSS jamming' },
    checkin_missed: { zh: '未按时核查', en: 'Check-in missed' },
    checkin_failed: { zh: '核查未通过', en: 'Check-in failed' },
    device_separation: { zh: '人机分离', en: 'Person–device separation' },
    sos: { zh: '紧急求助', en: 'SOS' },
  });
