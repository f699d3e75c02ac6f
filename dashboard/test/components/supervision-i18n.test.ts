// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { supervisionEn } from '../../src/i18n/supervision.en';
import { supervisionZh } from '../../src/i18n/supervision.zh-CN';
import { leaveDays, MAX_LEAVE_DAYS, TOWNSHIP_MAX_DAYS } from '../../src/api/supervision';
import { leaves, variables, type Tree } from './translation-tree';

describe('supervision translations', () => {
  const zh = leaves(supervisionZh as unknown as Tree);
  const en = leaves(supervisionEn as unknown as Tree);

  it('English has every Chinese key, none empty, the same variables, no Chinese', () => {
    expect([...en.keys()].sort()).toEqual([...zh.keys()].sort());
    for (const [key, text] of zh) {
      expect(text.trim(), key).not.toBe('');
      expect(variables(en.get(key)!), key).toEqual(variables(text));
      expect(/[\u4e00-\u9fff]/.test(en.get(key)!), key).toBe(false);
    }
  });
});

describe('leave days', () => {
  it('counts a started day and keeps the approval limits', () => {
    expect(leaveDays('2026-01-01T00:00:00Z', '2026-01-08T00:00:00Z')).toBe(7);
    expect(leaveDays('2026-01-01T00:00:00Z', '2026-01-08T01:00:00Z')).toBe(8);
    expect([TOWNSHIP_MAX_DAYS, MAX_LEAVE_DAYS]).toEqual([7, 30]);
  });
});
