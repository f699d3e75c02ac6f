/** zh-CN first, English second: the words reports print. */
export interface Label {
  zh: string;
  en: string;
}

export const LEGAL_GROUND_LABELS: Readonly<Record<string, Label>> = {
  prohibition_order_violation: {
    zh: '违反人民法院禁止令',
    en: 'Violated a court prohibition order',
  },
  left_without_approval: {
    zh: '无正当理由未经批准离开所居住的市、县',
    en: 'Left the city or county without approval',
  },
  warned_refusing_report: {
    zh: '拒不按照规定报告自己的活动情况，被给予警告',
    en: 'Warned for refusing to report',
  },
  public_security_penalty: {
    zh: '违反监督管理规定，被给予治安管理处罚',
    en: 'Public-security penalty',
  },
  pending_revocation: {
    zh: '拟提请撤销缓刑、假释或者暂予监外执行收监执行',
    en: 'Revocation or custody pending',
  },
};

export const ORDER_STATUS_LABELS: Readonly<Record<string, Label>> = {
  pending: { zh: '未开始', en: 'pending' },
  active: { zh: '执行中', en: 'active' },
  ended: { zh: '已解除', en: 'ended' },
  expired: { zh: '已到期', en: 'expired' },
};

export const SUBJECT_STATUS_LABELS: Readonly<Record<string, Label>> = {
  active: { zh: '在矫', en: 'active' },
  absconded: { zh: '脱管', en: 'absconded' },
  suspended: { zh: '中止', en: 'suspended' },
  ended: { zh: '解矫', en: 'ended' },
};

/** How alerts end: an officer's resolution, or the engine's own withdrawal. */
export const RESOLUTION_LABELS: Readonly<Record<string, Label>> = {
  confirmed_violation: { zh: '确认违规', en: 'confirmed violation' },
  false_alarm: { zh: '误报', en: 'false alarm' },
  device_fault: { zh: '设备故障', en: 'device fault' },
  authorised: { zh: '经批准', en: 'authorised' },
  other: { zh: '其他', en: 'other' },
  withdrawn: { zh: '系统撤回', en: 'withdrawn' },
};
export const REPORT_RESOLUTIONS = Object.keys(RESOLUTION_LABELS);
