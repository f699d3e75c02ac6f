import { spawn, type ChildProcess } from 'node:child_process';
import { REPO } from './report';

/**
 * The V8 flags the platform ships with (package.json `start`/`gateway`, deploy/Dockerfile):
 * benchmark children run as production does. See docs/adr/0007-v8-young-generation.md.
 */
export const PLATFORM_NODE_FLAGS = ['--max-semi-space-size=64'];

/**
 * A product process (gateway or platform) as a child, so its CPU time and memory can be read
 * from /proc without the load generator's own work mixed in. Started as `node --import tsx
 * <entry>` directly (not through npm), so the pid is the Node process itself.
 */
export interface Child {
  pid: number;
  process: ChildProcess;
  /** Last lines of its output (for errors). */
  tail(): string;
  stop(timeoutMs?: number): Promise<number | null>;
}

export async function startChild(options: {
  entry: string;
  env: Record<string, string>;
  /** Ready when a line of output matches… */
  readyWhen?: RegExp;
  /** …or when this resolves true (polled every 200 ms). */
  readyCheck?: () => Promise<boolean>;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<Child> {
  const child = spawn(
    process.execPath,
    [...PLATFORM_NODE_FLAGS, ...(options.nodeArgs ?? []), '--import', 'tsx', options.entry],
    {
      cwd: REPO,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let ready: (() => void) | undefined;
  const onData = (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 50) lines.shift();
      if (options.readyWhen?.test(line)) ready?.();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const tail = () => lines.join('\n');
  let poll: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${options.entry} not ready in time:\n${tail()}`));
    }, options.timeoutMs ?? 60_000);
    ready = () => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve();
    };
    if (options.readyCheck) {
      const check = options.readyCheck;
      poll = setInterval(() => {
        check().then(
          (ok) => ok && ready?.(),
          () => {},
        );
      }, 200);
    }
    void exited.then((code) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`${options.entry} exited (${code}) before it was ready:\n${tail()}`));
    });
  });
  return {
    pid: child.pid!,
    process: child,
    tail,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
