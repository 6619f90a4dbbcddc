import { errorResponse } from "./errors.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The origin the browser addressed: the Host header, with the scheme the proxy (or the socket) says. */
function ownOrigin(request: Request): string | undefined {
  const url = URL.canParse(request.url) ? new URL(request.url) : undefined;
  const host = request.headers.get("host") ?? url?.host;
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() ?? url?.protocol.replace(/:$/, "");
  return host && proto ? `${proto}://${host}` : undefined;
}

/**
 * Cross-site request forgery protection for what a browser sends on its own:
 * the session cookie. SameSite=Strict does not stop a page on the same host
 * and another port (same site, other origin), nor a sibling subdomain, so a
 * write that does not carry the bearer token must come from our own origin.
 * The order of checks follows Go's net/http CrossOriginProtection:
 * Sec-Fetch-Site when the browser sends it (secure contexts, localhost),
 * else Origin against the Host header; a request with neither is not from a
 * browser page. Logging in is checked too (login CSRF would sign the owner's browser
 * into a session the attacker chose the moment of).
 */
export class OriginGuard {
  private trusted: Set<string>;

  /** `trusted`: origins allowed besides the request's own (CORS_ORIGINS, PUBLIC_URL's origin). */
  constructor(corsOrigins: readonly string[], publicUrl: string | undefined) {
    this.trusted = new Set(corsOrigins);
    if (publicUrl) this.trusted.add(new URL(publicUrl).origin);
  }

  /** A 403 for a cross-origin write that a bearer token does not vouch for; undefined to go on. */
  refuse(request: Request): Response | undefined {
    if (SAFE_METHODS.has(request.method) || request.headers.has("authorization")) return undefined;
    const origin = request.headers.get("origin");
    if (origin && this.trusted.has(origin)) return undefined;
    const site = request.headers.get("sec-fetch-site");
    if (site) {
      if (site === "same-origin" || site === "none") return undefined;
    } else {
      // Without Sec-Fetch-Site the page is on plain http away from localhost, so the scheme is the socket's.
      if (!origin || origin === ownOrigin(request)) return undefined;
    }
    return errorResponse(
      "cross_origin",
      `refused a ${request.method} from another origin (Origin: ${origin?.slice(0, 200) ?? "none"}${site ? `, Sec-Fetch-Site: ${site.slice(0, 40)}` : ""}); ` +
        "the session cookie only works from the console's own origin. Send Authorization: Bearer <token>, or add that origin to CORS_ORIGINS if it is yours",
    );
  }
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The host of a Host header or an origin, lower case, without the port; undefined when it does not parse. */
function hostOf(hostOrOrigin: string): string | undefined {
  const url =
    URL.canParse(hostOrOrigin) && hostOrOrigin.includes("://") ? new URL(hostOrOrigin) : URL.canParse(`http://${hostOrOrigin}`) ? new URL(`http://${hostOrOrigin}`) : undefined;
  return url?.hostname.toLowerCase();
}

/**
 * DNS rebinding protection for endpoints that programs (not the console)
 * call, like /mcp: a page on a name the attacker made resolve to this machine
 * sends its own name as Host and Origin, so both must be names this server
 * answers to: loopback, PUBLIC_URL's host, CORS_ORIGINS' hosts and the
 * endpoint's own list. An Origin (browsers send one) must be such a name too.
 */
export class HostGuard {
  private hosts: Set<string>;

  constructor(opts: { corsOrigins: readonly string[]; publicUrl: string | undefined; extraHosts?: readonly string[] }) {
    this.hosts = new Set(LOOPBACK_HOSTS);
    for (const h of [...opts.corsOrigins, ...(opts.publicUrl ? [opts.publicUrl] : []), ...(opts.extraHosts ?? [])]) {
      const host = hostOf(h);
      if (host) this.hosts.add(host);
    }
  }

  /** A 403 naming what was refused; undefined to go on. */
  refuse(request: Request): Response | undefined {
    const host = request.headers.get("host") ?? (URL.canParse(request.url) ? new URL(request.url).host : "");
    const hostName = hostOf(host);
    if (!hostName || !this.hosts.has(hostName)) {
      return errorResponse(
        "foreign_host",
        `refused a request addressed to ${JSON.stringify(host.slice(0, 100))}: not a name this server answers to (add it to MCP_ALLOWED_HOSTS if it is yours)`,
      );
    }
    const origin = request.headers.get("origin");
    if (origin !== null) {
      const originHost = hostOf(origin);
      if (!originHost || !this.hosts.has(originHost)) {
        return errorResponse(
          "foreign_host",
          `refused a request from the page at ${JSON.stringify(origin.slice(0, 100))}: not an origin this server trusts (CORS_ORIGINS, PUBLIC_URL)`,
        );
      }
    }
    return undefined;
  }
}
