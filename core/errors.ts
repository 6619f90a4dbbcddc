/**
 * Local errors carry a code from the one table in `protocol/errors.ts`; the
 * API maps them to `{ error: { code, message } }` with the table's status.
 */
import { AppError } from "./protocol/errors.ts";

export { AppError, ERRORS, type ErrorCode } from "./protocol/errors.ts";

export const badRequest = (message: string) => new AppError("invalid_request", message);
export const notFound = (what: string, id: string) => new AppError("not_found", `${what} ${id} not found`);
