import { AppError } from "../errors.ts";

export class PayloadTooLarge extends AppError {
  constructor(limit: number) {
    super("payload_too_large", `request body is larger than ${limit} bytes`);
  }
}

/**
 * Reads a JSON body with a hard cap, whatever the content-type says (curl -d
 * sends form encoding): an oversized body stops being read at the cap.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLarge(limit);
  if (!request.body) return null;
  let text: string;
  if (Number.isFinite(declared)) {
    // On a socket the declared length frames the body; read it at once.
    text = await request.text();
    if (Buffer.byteLength(text) > limit) throw new PayloadTooLarge(limit);
  } else {
    text = await readCapped(request.body, limit);
  }
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError("invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
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
