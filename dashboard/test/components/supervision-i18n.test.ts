// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { supervisionEn } from '../../src/i18n/supervision.en';
import { supervisionZh } from '../../src/i18n/supervision.zh-CN';
import { leaveDays, MAX_LEAVE_DAYS, TOWNSHIP_MAX_DAYS } from '../../src/api/supervision';

type Tree = { [key: string]: string | Tree };

function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of leaves(v, key)) out.set(kk, vv);
  }
  return out;
}
const variables = (text: string) => [...text.matchAll(/{{(\w+)}}/g)].map((m) => m[1]).sort();

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
