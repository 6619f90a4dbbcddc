/**
 * Local errors carry a code and an HTTP status; the API maps them in one place
 * to `{ error: { code, message } }`.
 */
export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: string,
    message: string,
    readonly status = 500,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new AppError(code, message, 400);
export const notFound = (what: string, id: string) => new AppError("not_found", `${what} ${id} not found`, 404);
export const conflict = (code: string, message: string) => new AppError(code, message, 409);
export const unavailable = (code: string, message: string) => new AppError(code, message, 503);
