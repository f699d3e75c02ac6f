import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './report';

/**
 * The hottest functions of a V8 `.cpuprofile` (from `node --cpu-prof`) by self time, and the
 * share of time under each product package (by the file of the frame's function).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface HotFunction {
  function: string;
  where: string;
  selfPct: number;
}

export function summarizeProfile(file: string, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples.length || 1;
  const self = new Map<string, { fn: string; where: string; n: number }>();
  const byArea = new Map<string, number>();
  for (const [id, n] of counts) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const path = url.startsWith('file://') ? relative(REPO, url.slice(7)) : url;
    const where = path ? `${path}:${lineNumber + 1}` : '(native)';
    const fn = functionName || '(anonymous)';
    const key = `${fn}@${where}`;
    const entry = self.get(key) ?? { fn, where, n: 0 };
    entry.n += n;
    self.set(key, entry);
    byArea.set(area(fn, path), (byArea.get(area(fn, path)) ?? 0) + n);
  }
  const hot: HotFunction[] = [...self.values()]
    .sort((a, b) => b.n - a.n)
    .slice(0, top)
    .map((e) => ({
      function: e.fn,
      where: e.where,
      selfPct: Math.round((e.n / total) * 1000) / 10,
    }));
  const areas = Object.fromEntries(
    [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => [k, Math.round((n / total) * 1000) / 10]),
  );
  return { samples: total, hot, areas };
}

/** Which part of the system a frame belongs to. */
function area(fn: string, path: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return m[1]!;
  if (path.startsWith('node:') || path === '') return 'node core / native';
  const own = /^(device-gateway|server|packages\/[^/]+|migrations|bench)\//.exec(path);
  return own ? own[1]! : path;
}

/** The main thread's profile in a `--cpu-prof-dir`: the largest file (thread id 0). */
export function mainThreadProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  } catch {
    return undefined;
  }
}
