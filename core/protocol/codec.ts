import type { Static, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { parseJson } from "./json.ts";

/** Largest message any bakerst consumer will parse. */
export const MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checker<S extends TSchema>(schema: S): TypeCheck<S> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<S>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encode<S extends TSchema>(_schema: S, value: Static<S>): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Checks a value against a schema; the reason names the first bad field. */
export function check<S extends TSchema>(schema: S, value: unknown): Decoded<Static<S>> {
  const c = checker(schema);
  if (c.Check(value)) return { ok: true, value };
  const errors = [...c.Errors(value)];
  // A union reports its own failure first; the deepest path is the useful one.
  const first = errors.sort((a, b) => b.path.length - a.path.length)[0];
  return { ok: false, reason: first ? `${first.path || "(message)"}: ${first.message}` : "does not match the schema" };
}

/** Parses and checks a message body; never throws. */
export function decode<S extends TSchema>(schema: S, data: Uint8Array): Decoded<Static<S>> {
  if (data.byteLength > MAX_MESSAGE_BYTES) return { ok: false, reason: `message of ${data.byteLength} bytes is over the ${MAX_MESSAGE_BYTES} byte limit` };
  let text: string;
  try {
    text = decoder.decode(data);
  } catch (err) {
    return { ok: false, reason: `not UTF-8 JSON (${(err as Error).message})` };
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, reason: `not UTF-8 JSON (${parsed.reason})` };
  const value = parsed.value;
  if (!value || typeof value !== "object" || Array.isArray(value)) return { ok: false, reason: "not a JSON object" };
  if (!("v" in value)) return { ok: false, reason: "v: missing schema version" };
  return check(schema, value);
}
