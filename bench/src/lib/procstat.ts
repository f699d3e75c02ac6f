import { readFileSync } from 'node:fs';

/** CPU time and memory of other processes, from /proc (Linux). */
const TICKS_PER_S = 100; // CLK_TCK on Linux x86-64

/** User + system CPU seconds used so far by `pid` (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // utime, stime
  } catch {
    return 0;
  }
}

/** Resident set size of `pid`, MiB. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Total CPU seconds of a set of pids (e.g. the PostgreSQL backends of one database). */
export const cpuSecondsOf = (pids: readonly number[]) =>
  pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

/** Samples RSS of a pid every `everyMs`, keeping the peak. */
export function watchRss(pid: number, everyMs = 500) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, everyMs);
  timer.unref();
  return {
    peak: () => Math.max(peak, rssMiB(pid)),
    stop: () => clearInterval(timer),
  };
}

/** Busy fraction of the whole machine between two /proc/stat readings (0–1 × cores). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICKS_PER_S, total: total / TICKS_PER_S };
}

/**
 * CPU seconds used by a changing set of processes (a connection pool's backends come and
 * go): pids present at the end count from their start reading, or from 0 if they are new.
 */
export async function cpuOfChanging(getPids: () => Promise<number[]>) {
  const start = new Map((await getPids()).map((pid) => [pid, cpuSeconds(pid)]));
  return async () => {
    let sum = 0;
    for (const pid of await getPids()) sum += cpuSeconds(pid) - (start.get(pid) ?? 0);
    return sum;
  };
}
