import type { UiAsset } from "../../ui/bundle.ts";
import type { Logger } from "../telemetry/log.ts";

// Inline style attributes stay allowed for Solid's style bindings; scripts only from our own origin.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

interface Served {
  asset: UiAsset;
  gzip?: Uint8Array<ArrayBuffer>;
  etag: string;
}

function prepare(asset: UiAsset): Served {
  const etag = `"${Bun.hash(asset.body).toString(36)}"`;
  // Small files gain nothing from compression; text formats shrink 3-4x.
  const gzip = asset.body.byteLength > 1024 && !asset.type.startsWith("image/png") ? Bun.gzipSync(asset.body, { level: 9 }) : undefined;
  return { asset, gzip, etag };
}

/**
 * Serves the console for every path the API does not own: files under
 * /assets/ by name (hashed ones cached for a year), and index.html for every
 * other GET so deep links such as /chat/abc load the app.
 */
export function uiFallback(load: () => Promise<UiAsset[]>, log?: Logger) {
  let files: Promise<Map<string, Served>> | undefined;
  const ready = () =>
    (files ??= load().then(
      (assets) => new Map(assets.map((a) => [a.path, prepare(a)])),
      (err) => {
        files = undefined; // try again on the next request once the error is fixed
        log?.error("the web console could not be built", { error: err as Error });
        throw err;
      },
    ));
  // Prepared a moment after start, off the path to the first answer; a request before then waits for it.
  setTimeout(() => void ready().catch(() => {}), 1000).unref?.();

  return async (request: Request): Promise<Response | undefined> => {
    if (request.method !== "GET" && request.method !== "HEAD") return undefined;
    const path = new URL(request.url).pathname;
    let map: Map<string, Served>;
    try {
      map = await ready();
    } catch (err) {
      return new Response(`The web console failed to build: ${(err as Error).message}`, { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    let served = map.get(path);
    if (!served) {
      if (path.startsWith("/assets/") || /\.[a-z0-9]{2,5}$/i.test(path)) return undefined;
      served = map.get("/index.html");
      if (!served) return undefined;
    }
    const { asset, gzip, etag } = served;
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      "content-type": asset.type,
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      etag,
      vary: "accept-encoding",
    };
    if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    const wantsGzip = gzip && /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
    const body = wantsGzip ? gzip : asset.body;
    if (wantsGzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = String(body.byteLength);
    return new Response(request.method === "HEAD" ? null : body, { headers });
  };
}
