import { AppError } from "../errors.ts";

export class PayloadTooLarge extends AppError {
  constructor(limit: number) {
    super("payload_too_large", `request body is larger than ${limit} bytes`, 413);
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
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
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
  if (size === 0) return null;
  const text = new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError("invalid_json", `request body is not valid JSON: ${(err as Error).message}`, 400);
  }
}
