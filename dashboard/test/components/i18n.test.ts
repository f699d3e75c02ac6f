import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/en';
import { zhCN } from '../../src/i18n/zh-CN';
import { leaves, variables, type Tree } from './translation-tree';

describe('translations', () => {
  const zh = leaves(zhCN as unknown as Tree);
  const english = leaves(en as unknown as Tree);

  it('English has every Chinese string and no other, none empty', () => {
    expect([...english.keys()].sort()).toEqual([...zh.keys()].sort());
    for (const [key, text] of [...zh, ...english]) expect(text.trim(), key).not.toBe('');
  });

  it('both languages fill in the same variables', () => {
    for (const [key, text] of zh)
      expect(variables(english.get(key)!), key).toEqual(variables(text));
  });

  it('the English strings are English (no Chinese characters slipped in)', () => {
    for (const [key, text] of english)
      expect(/[\u4e00-\u9fff]/.test(text), `${key}: ${text}`).toBe(false);
  });
});
