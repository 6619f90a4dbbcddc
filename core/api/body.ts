import { AppError } from "../errors.ts";
import { MAX_JSON_DEPTH, parseJson } from "../protocol/json.ts";

export class PayloadTooLarge extends AppError {
  constructor(limit: number) {
    super("payload_too_large", `request body is larger than ${limit} bytes`);
  }
}

/**
 * Reads a JSON body with a hard cap, whatever the content-type says (curl -d
 * sends form encoding): an oversized body stops being read at the cap, and a
 * body nested deeper than MAX_JSON_DEPTH is refused before it is parsed, so
 * no deep value reaches schema validation (whose error messages grow with the
 * square of the depth).
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const text = await readText(request, limit);
  if (text.length === 0) return null;
  const parsed = parseJson(text);
  if (parsed.ok) return parsed.value;
  throw new AppError("invalid_json", parsed.tooDeep ? `request body is nested deeper than ${MAX_JSON_DEPTH} levels` : `request body is not valid JSON: ${parsed.reason}`);
}

/** The body as text, at most `limit` bytes; a declared length over it is refused before reading. */
export async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLarge(limit);
  if (!request.body) return "";
  if (Number.isFinite(declared)) {
    // On a socket the declared length frames the body; read it at once.
    const text = await request.text();
    if (Buffer.byteLength(text) > limit) throw new PayloadTooLarge(limit);
    return text;
  }
  return readCapped(request.body, limit);
}

/** A chunked body without a length: read until the cap, and stop there. */
async function readCapped(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLarge(limit);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}
