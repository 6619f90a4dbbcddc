import { errorResponse } from "./errors.ts";
import { WEBHOOK_NAME } from "./webhook-registry.ts";

/**
 * Which requests need no credentials, decided on the path the router will
 * route, in every spelling it could take: an exact allowlist, and the UI's
 * GETs on paths no API or root route could be reached by. Everything else,
 * including each spelling we did not think of, needs the token or a session.
 */

/** The three requests anyone may make; matched exactly, so `/ping/` or `/api/auth/login;x` need credentials. */
const OPEN = new Set(["GET /ping", "HEAD /ping", "POST /api/auth/login", "POST /api/auth/logout"]);

/**
 * `POST /api/webhooks/<name>`: open, because each webhook checks its own
 * secret (core/api/webhooks.ts) before reading anything. Matched exactly, in
 * lower case; any other spelling needs the token.
 */
const OPEN_WEBHOOK = new RegExp(`^/api/webhooks/${WEBHOOK_NAME.source.slice(1)}`);

/** Whether the request is a webhook call, whose body its handler reads itself (under its own cap). */
export const isWebhook = (method: string, url: string) => method === "POST" && OPEN_WEBHOOK.test(routedPath(url));

/** Largest body read from a request without credentials (a login is a token or a code: well under 1 KB). */
export const OPEN_BODY_BYTES = 4096;

export type Access = "open" | "ui" | "private";

/**
 * The path Elysia routes on. It does not parse the URL: it takes the text from
 * the first "/" at or after index 11 (assuming "http://" and a host of four
 * characters or more) up to the first "?". A shorter Host header moves that
 * "/", so this can differ from the URL's pathname (`Host: ab` with
 * `/x/metrics` routes to `/metrics`).
 */
export function routedPath(url: string): string {
  const s = url.indexOf("/", 11);
  const qi = url.indexOf("?", s + 1);
  return url.substring(s, qi === -1 ? undefined : qi);
}

function decodeAll(text: string): string {
  // Bounded: each round shortens the text, and four rounds undo any encoding a proxy might add.
  for (let i = 0; i < 4 && text.includes("%"); i++) {
    let next: string;
    try {
      next = decodeURIComponent(text);
    } catch {
      next = text.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
    if (next === text) break;
    text = next;
  }
  return text;
}

/**
 * Every first segment a router could see in this path: as written, decoded,
 * case-folded, with `\` as `/`, `;`/`?`/`#` parameters cut, repeated slashes
 * collapsed, and with and without resolving `.` and `..`.
 */
export function firstSegments(path: string): Set<string> {
  const out = new Set<string>();
  const plain = (seg: string) => seg.split(/[;?#]/)[0]!;
  const rawFirst = path.split("/").find((s) => s !== "");
  if (rawFirst !== undefined) out.add(plain(rawFirst).toLowerCase());
  const segs = decodeAll(path)
    .toLowerCase()
    .replace(/\\/g, "/")
    .split("/")
    .map(plain)
    .filter((s) => s !== "" && s !== ".");
  out.add(segs[0] ?? "");
  const resolved: string[] = [];
  for (const s of segs) {
    if (s === "..") resolved.pop();
    else resolved.push(s);
  }
  out.add(resolved[0] ?? "");
  return out;
}

export interface RouteInfo {
  method: string;
  path: string;
}

export class PathPolicy {
  private roots: Set<string> | undefined;

  /** `routes` is read on first use, once every area has added its routes. */
  constructor(private routes: () => readonly RouteInfo[]) {}

  /** First segments of every route but the UI's catch-all; `:param` stands for any. */
  private rootSegments(): Set<string> {
    if (!this.roots) {
      this.roots = new Set();
      for (const r of this.routes()) {
        const first = r.path.split("/").find((s) => s !== "") ?? "";
        if (first !== "*") this.roots.add(first.startsWith(":") ? ":" : first.toLowerCase());
      }
    }
    return this.roots;
  }

  access(method: string, url: string): Access {
    const routed = routedPath(url);
    if (OPEN.has(`${method} ${routed}`) || isWebhook(method, url)) return "open";
    if (method !== "GET" && method !== "HEAD") return "private";
    const roots = this.rootSegments();
    if (roots.has(":")) return "private";
    const seen = firstSegments(routed);
    if (URL.canParse(url)) for (const s of firstSegments(new URL(url).pathname)) seen.add(s);
    for (const s of seen) if (roots.has(s)) return "private";
    return "ui";
  }
}

/**
 * Makes the path Elysia routes on the URL's real pathname. A Host header
 * shorter than four characters (`nas` behind a proxy) would otherwise shift
 * it; such a request is re-addressed to localhost, keeping its headers (the
 * Host header is what the Origin check reads). A request without a usable
 * URL (no Host at all) is refused.
 */
export function routable(request: Request): Request | Response {
  if (!URL.canParse(request.url)) return errorResponse("invalid_request", "the request has no valid Host header");
  const url = new URL(request.url);
  if (routedPath(request.url) === url.pathname) return request;
  return new Request(`${url.protocol}//localhost${url.pathname}${url.search}`, request);
}
