import { t } from "elysia";
import { AppError } from "../errors.ts";

/**
 * Query values arrive as strings and are checked by hand: Elysia's numeric
 * conversion takes `1.5`, `1e3` and ` 5`, and its messages do not say the range.
 */
export const QueryText = t.Optional(t.String({ maxLength: 200 }));

const DIGITS = /^[0-9]{1,16}$/;

/** A whole number in min..max written as plain digits; absent gives `fallback`, anything else a 400 naming the field. */
export function queryInt(raw: string | undefined, field: string, min: number, max: number): number | undefined;
export function queryInt(raw: string | undefined, field: string, min: number, max: number, fallback: number): number;
export function queryInt(raw: string | undefined, field: string, min: number, max: number, fallback?: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = DIGITS.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new AppError("invalid_request", `${field}: expected a whole number in ${min}..${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  return n;
}

/**
 * Refuses a query string that would be read two ways: a name given twice
 * (which value wins differs between parsers) or broken percent-encoding.
 * Never throws; the 400 names the parameter.
 */
export function queryProblem(url: string): AppError | undefined {
  const qi = url.indexOf("?");
  if (qi === -1) return undefined;
  const seen = new Set<string>();
  for (const pair of url.slice(qi + 1).split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, " "));
      if (eq !== -1) decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
    } catch {
      return new AppError("invalid_request", `${rawName.slice(0, 40)}: malformed percent-encoding in the query string`);
    }
    if (seen.has(name)) return new AppError("invalid_request", `${name.slice(0, 40)}: given more than once in the query string`);
    seen.add(name);
  }
  return undefined;
}
