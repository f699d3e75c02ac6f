import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/en';
import { zhCN } from '../../src/i18n/zh-CN';

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
