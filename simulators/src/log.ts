/** The slice of a pino logger the simulators use, so the server can pass its own. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
};

/** One readable line per record on stderr, for the CLI. */
export function consoleLogger(): Logger {
  const line = (level: string) => (obj: object, msg?: string) => {
    const time = new Date().toISOString().slice(11, 19);
    const fields = Object.entries(obj)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`${time} ${level} ${msg ?? ''}${fields ? `  ${fields}` : ''}\n`);
  };
  return { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
}
