import { z } from 'zod';

/** Thrown when the environment does not satisfy a process's config schema. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`配置错误 / invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once with the process's schema and freezes the result.
 * Every problem names the variable, so a bad deployment fails fast and says why.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  // Empty strings count as unset: `FOO= npm start` should not mean "FOO is ''".
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  return Object.freeze(result.data);
}

/** Common env field helpers. */
export const envPort = (fallback: number) =>
  z.coerce.number().int().min(0).max(65535).default(fallback);
export const envOnOff = (fallback: 'on' | 'off') =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default(fallback)
    .transform((v) => v === 'on' || v === 'true' || v === '1');
export const envUrl = (protocols: readonly string[]) =>
  z.string().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be a URL (${protocols[0]}://…)` });
      return;
    }
    if (!protocols.includes(url.protocol.replace(/:$/, ''))) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a URL with scheme ${protocols.join(' or ')}`,
      });
    }
  });
