import { BlockList, isIP } from "node:net";

/**
 * Which address a request comes from. Behind a reverse proxy (Caddy, Traefik,
 * nginx) every request arrives from the proxy; when the socket's peer is one
 * of TRUSTED_PROXIES, the client is the last X-Forwarded-For hop that is not
 * itself a trusted proxy. Nothing else trusts that header, so a client cannot
 * spoof its way past the login rate limit.
 */
export class ClientAddress {
  private trusted = new BlockList();
  private any = false;

  constructor(proxies: string[]) {
    for (const entry of proxies) {
      const [addr, bits] = entry.split("/");
      const family = isIP(addr ?? "");
      if (!family) throw new Error(`TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR`);
      const type = family === 4 ? "ipv4" : "ipv6";
      if (bits === undefined) this.trusted.addAddress(addr!, type);
      else {
        const prefix = Number(bits);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`TRUSTED_PROXIES: ${JSON.stringify(entry)} has a bad prefix length`);
        this.trusted.addSubnet(addr!, prefix, type);
      }
      this.any = true;
    }
  }

  private isTrusted(addr: string): boolean {
    const plain = addr.startsWith("::ffff:") && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
    const family = isIP(plain);
    return family !== 0 && this.trusted.check(plain, family === 4 ? "ipv4" : "ipv6");
  }

  resolve(peer: string, forwardedFor: string | null): string {
    if (!this.any || !forwardedFor || !this.isTrusted(peer)) return peer;
    const hops = forwardedFor
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) return peer; // a malformed header is not evidence of anything
      if (!this.isTrusted(hop)) return hop;
    }
    return peer;
  }
}

/** The socket address of each request, filled in by `serveFetch`; in-process requests have none. */
const clientIps = new WeakMap<Request, string>();

export function rememberClient(request: Request, address: string): void {
  clientIps.set(request, address);
}

/** Who a request counts as for the login rate limit: its (proxy-resolved) address, or "local" in-process. */
export function clientKey(request: Request): string {
  return clientIps.get(request) ?? "local";
}
