/**
 * Errors with a stable code and an HTTP status. The API answers
 * `{"error":{"code","message"}}`; a 5xx never carries internals (they go to the log).
 */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (code: string, what: string) =>
  new AppError(404, code, `未找到${what} / ${what} not found`);

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
