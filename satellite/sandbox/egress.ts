/**
 * The only way out of a sandbox that keeps its own network namespace: an
 * egress proxy on the host side, reached through a unix socket bound into the
 * sandbox, that lets a connection through only to a host on the allowlist,
 * after checking every address the name resolves to. Inside, a bridge (the
 * task runner itself) listens on 127.0.0.1 in the sandbox's namespace and
 * forwards to the socket; HTTP_PROXY / HTTPS_PROXY point programs at it.
 *
 * It speaks HTTP CONNECT (https and anything tunnelled) and plain HTTP in
 * absolute form (`GET http://host/path`), one request per connection, so a
 * kept-alive connection cannot switch to another host. Shared over TCP (task
 * pods, which have no socket to bind), each client proves which running task
 * it is with Proxy-Authorization and gets that task's allowlist.
 */
import { lookup } from "node:dns/promises";
import { chmodSync } from "node:fs";
import { BlockList, connect, createServer, isIP, type Server, type Socket } from "node:net";

/** Cloud metadata services and link-local ranges: never reachable, whatever a list says (http jobs use the same). */
export const METADATA = (() => {
  const b = new BlockList();
  b.addSubnet("169.254.0.0", 16, "ipv4");
  b.addAddress("100.100.100.200", "ipv4");
  b.addAddress("fd00:ec2::254", "ipv6");
  b.addSubnet("fe80::", 10, "ipv6");
  return b;
})();
export const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);

/** Addresses a name on the list may not lead to unless the entry names them itself: this machine. */
const LOOPBACK = (() => {
  const b = new BlockList();
  b.addSubnet("127.0.0.0", 8, "ipv4");
  b.addSubnet("0.0.0.0", 8, "ipv4");
  b.addAddress("::1", "ipv6");
  b.addAddress("::", "ipv6");
  return b;
})();

const familyOf = (ip: string) => (isIP(ip) === 6 ? "ipv6" : "ipv4");

/** `::ffff:169.254.169.254` is 169.254.169.254. */
export function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (hex) {
    const a = Number.parseInt(hex[1]!, 16);
    const b = Number.parseInt(hex[2]!, 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return ip;
}

export const isMetadata = (ip: string) => METADATA.check(unmapped(ip), familyOf(unmapped(ip)));
const isLoopback = (ip: string) => LOOPBACK.check(unmapped(ip), familyOf(unmapped(ip)));

export interface AllowEntry {
  /** A lower-case name, `*.suffix` (subdomains only), or an IP address. */
  host: string;
  /** Ports reachable on it; without one in the entry, 80 and 443. */
  ports: number[];
}

export class EgressRuleError extends Error {
  override name = "EgressRuleError";
}

/**
 * The host name a URL parser makes of an authority: IPv4 in any spelling
 * (`0xa9fea9fe`, `2852039166`, `0251.0376.0251.0376`) becomes a dotted quad,
 * names are lower-cased and IDNA-encoded, brackets and a trailing dot go.
 */
export function canonicalHost(authority: string): { host: string; port: number | undefined } | undefined {
  let url: URL;
  try {
    url = new URL(`http://${authority}`);
  } catch {
    return undefined;
  }
  if (url.username || url.password || url.pathname !== "/" || url.search || url.hash) return undefined;
  const host = url.hostname
    .replace(/^\[|\]$/g, "")
    .toLowerCase()
    .replace(/\.$/, "");
  if (!host) return undefined;
  const explicit = /:(\d+)$/.exec(authority.replace(/^\[[^\]]*\]/, ""));
  return { host: isIP(host) ? unmapped(host) : host, port: explicit ? Number(explicit[1]) : undefined };
}

/** `api.example.com`, `*.debian.org:8443`, `[::1]:80` → entries; throws naming the bad one. */
export function parseAllowlist(entries: readonly string[]): AllowEntry[] {
  return entries.map((raw) => {
    const wildcard = raw.startsWith("*.");
    const parsed = canonicalHost(wildcard ? raw.slice(2) : raw);
    if (!parsed || (parsed.port !== undefined && (parsed.port < 1 || parsed.port > 65535)))
      throw new EgressRuleError(`${JSON.stringify(raw)} is not a host name, an IP address or either with :port`);
    if (METADATA_NAMES.has(parsed.host) || (isIP(parsed.host) && isMetadata(parsed.host)))
      throw new EgressRuleError(`${raw} is a cloud metadata address, which is never reachable`);
    if (wildcard && isIP(parsed.host)) throw new EgressRuleError(`${raw}: a wildcard needs a name`);
    return { host: wildcard ? `*.${parsed.host}` : parsed.host, ports: parsed.port !== undefined ? [parsed.port] : [80, 443] };
  });
}

const nameMatches = (entry: string, host: string) => (entry.startsWith("*.") ? host.endsWith(entry.slice(1)) : entry === host);
const namesThisMachine = (entry: string) => entry === "localhost" || (isIP(entry) > 0 && isLoopback(entry));

export type Resolver = (host: string) => Promise<string[]>;
const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export class EgressRefused extends Error {
  override name = "EgressRefused";
}

/**
 * The address to connect to for `host:port`, or EgressRefused saying why.
 * Every address the name resolves to is checked (one bad address refuses the
 * name); the connection goes to the checked address, so DNS cannot change
 * between check and use.
 */
export async function checkDestination(allow: readonly AllowEntry[], host: string, port: number, resolve: Resolver = systemResolver): Promise<string> {
  if (METADATA_NAMES.has(host)) throw new EgressRefused(`${host} is a cloud metadata host`);
  if (isIP(host) && isMetadata(host)) throw new EgressRefused(`${host} is a cloud metadata / link-local address`);
  const matched = allow.filter((e) => nameMatches(e.host, host) && e.ports.includes(port));
  if (!matched.length) {
    const other = allow.some((e) => nameMatches(e.host, host));
    throw new EgressRefused(other ? `port ${port} of ${host} is not on the task's network allowlist` : `${host} is not on the task's network allowlist`);
  }
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await resolve(host)).map(unmapped);
    } catch (err) {
      throw new EgressRefused(`cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (!addresses.length) throw new EgressRefused(`${host} has no addresses`);
  const local = matched.some((e) => namesThisMachine(e.host));
  for (const ip of addresses) {
    if (isMetadata(ip)) throw new EgressRefused(`${host} resolves to ${ip}, a cloud metadata / link-local address`);
    // A listed name that resolves to this machine would reach the host's own services (the core's API among them).
    if (isLoopback(ip) && !local) throw new EgressRefused(`${host} resolves to ${ip}, this machine; list localhost or the address itself to allow that`);
  }
  return addresses[0]!;
}

const MAX_HEAD_BYTES = 16 * 1024;
const HOP_HEADERS = new Set(["proxy-connection", "proxy-authorization", "connection", "keep-alive", "te", "trailer", "upgrade"]);

function answer(sock: Socket, status: number, reason: string, text: string): void {
  const body = `${text}\n`;
  sock.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nx-bakerst-egress: refused\r\n\r\n${body}`,
  );
}

export interface EgressEvent {
  host: string;
  port: number;
  allowed: boolean;
  reason?: string;
  /** Whose connection it was, when the proxy serves many (a task id). */
  who?: string;
}

/**
 * Who may go where, for a proxy several clients share over TCP (task pods):
 * from the request's `Proxy-Authorization` (undefined when it has none), the
 * client's name and its allowlist, or undefined to refuse with 407.
 */
export type EgressAuthorizer = (proxyAuthorization: string | undefined) => { who: string; allow: readonly AllowEntry[] } | undefined;

export interface EgressOptions {
  /** A unix socket (made mode 0666: its directory is what keeps others out), bound into one sandbox; or a TCP address for many clients that authenticate. */
  listen: { socket: string } | { host: string; port: number };
  /** One allowlist (a socket for one sandbox), or an authorizer (TCP). */
  allow: readonly AllowEntry[] | EgressAuthorizer;
  resolve?: Resolver;
  /** Each connection's verdict, for progress and the audit. */
  onEvent?: (e: EgressEvent) => void;
  /** Longest a tunnel may sit idle. */
  idleMs?: number;
}

export interface EgressProxy {
  /** The socket, or `host:port` it listens on. */
  readonly address: string;
  readonly port?: number;
  close(): Promise<void>;
}

/** Reads the request head (up to the blank line); the rest of the buffer is the start of the body or tunnel. */
function readHead(sock: Socket): Promise<{ head: string; rest: Buffer } | undefined> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        done();
        resolve({ head: buf.subarray(0, end).toString("latin1"), rest: buf.subarray(end + 4) });
      } else if (buf.length > MAX_HEAD_BYTES) {
        done();
        answer(sock, 431, "Request Header Fields Too Large", "request head too large");
        resolve(undefined);
      }
    };
    const onEnd = () => (done(), resolve(undefined));
    const done = () => {
      sock.off("data", onData);
      sock.off("end", onEnd);
      sock.off("error", onEnd);
      sock.pause();
    };
    sock.on("data", onData);
    sock.once("end", onEnd);
    sock.once("error", onEnd);
  });
}

function splice(a: Socket, b: Socket, idleMs: number): void {
  const close = () => (a.destroy(), b.destroy());
  for (const s of [a, b]) {
    s.setTimeout(idleMs, close);
    s.once("error", close);
    s.once("close", close);
  }
  a.pipe(b);
  b.pipe(a);
  a.resume();
}

async function serve(client: Socket, opts: EgressOptions): Promise<void> {
  const got = await readHead(client);
  if (!got) return;
  const [requestLine = "", ...headerLines] = got.head.split("\r\n");
  const m = /^([A-Z]{1,16}) (\S{1,8192}) HTTP\/1\.[01]$/.exec(requestLine);
  if (!m) return answer(client, 400, "Bad Request", "not an HTTP/1.x proxy request");
  const [, method, target] = m as unknown as [string, string, string];
  let authority: string;
  let path = "";
  if (method === "CONNECT") authority = target;
  else {
    if (!target.startsWith("http://")) return answer(client, 400, "Bad Request", "send http:// URLs in absolute form, and https through CONNECT");
    const rest = target.slice("http://".length);
    const slash = rest.search(/[/?#]/);
    authority = slash < 0 ? rest : rest.slice(0, slash);
    path = slash < 0 ? "/" : rest.slice(slash);
    if (path.startsWith("?")) path = `/${path}`;
    path = path.replace(/#.*$/, "");
  }
  const parsed = canonicalHost(authority);
  const port = parsed?.port ?? (method === "CONNECT" ? undefined : 80);
  if (!parsed || port === undefined || port < 1 || port > 65535) return answer(client, 400, "Bad Request", `${authority.slice(0, 200)} is not host:port`);
  let allow: readonly AllowEntry[];
  let who: string | undefined;
  if (typeof opts.allow === "function") {
    const auth = headerLines.find((l) => /^proxy-authorization\s*:/i.test(l))?.replace(/^[^:]*:\s*/, "");
    const grant = opts.allow(auth);
    if (!grant) {
      const body = "bakerst egress: proxy credentials of a running task are required\n";
      return void client.end(
        `HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="bakerst tasks"\r\ncontent-length: ${body.length}\r\nconnection: close\r\nx-bakerst-egress: refused\r\n\r\n${body}`,
      );
    }
    ({ allow, who } = grant);
  } else allow = opts.allow;
  const event = (e: Omit<EgressEvent, "host" | "port" | "who">) => opts.onEvent?.({ host: parsed.host, port, ...e, ...(who ? { who } : {}) });
  let ip: string;
  try {
    ip = await checkDestination(allow, parsed.host, port, opts.resolve);
  } catch (err) {
    const reason = err instanceof EgressRefused ? err.message : `refused (${(err as Error).message})`;
    event({ allowed: false, reason });
    return answer(client, 403, "Forbidden", `bakerst egress: ${reason}`);
  }
  event({ allowed: true });
  const upstream = connect({ host: ip, port });
  upstream.once("error", (err) => {
    if (!client.destroyed) answer(client, 502, "Bad Gateway", `bakerst egress: ${parsed.host}:${port} (${ip}): ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  });
  upstream.once("connect", () => {
    if (method === "CONNECT") client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    else {
      const headers = headerLines.filter((l) => !HOP_HEADERS.has(l.slice(0, l.indexOf(":")).trim().toLowerCase()));
      if (!headers.some((l) => /^host\s*:/i.test(l))) headers.unshift(`Host: ${authority}`);
      upstream.write(`${method} ${path} HTTP/1.1\r\n${[...headers, "Connection: close"].join("\r\n")}\r\n\r\n`, "latin1");
    }
    if (got.rest.length) upstream.write(got.rest);
    splice(client, upstream, opts.idleMs ?? 300_000);
  });
}

/** Starts the proxy on its unix socket or TCP address. */
export function startEgressProxy(opts: EgressOptions): Promise<EgressProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.once("close", () => open.delete(client));
    client.once("error", () => client.destroy());
    serve(client, opts).catch(() => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const close = () => closeServer(server, open);
    const l = opts.listen;
    if ("socket" in l) {
      server.listen(l.socket, () => {
        chmodSync(l.socket, 0o666);
        resolve({ address: l.socket, close });
      });
    } else {
      server.listen(l.port, l.host, () => {
        const addr = server.address();
        const port = typeof addr === "object" && addr ? addr.port : l.port;
        resolve({ address: `${l.host}:${port}`, port, close });
      });
    }
  });
}

/** Stops listening and cuts what is still open (a tunnel would otherwise hold the close). */
function closeServer(server: Server, open: Set<Socket>): Promise<void> {
  return new Promise<void>((r) => {
    server.close(() => r());
    for (const s of open) s.destroy();
  });
}

export interface Bridge {
  port: number;
  close(): Promise<void>;
}

/** Inside the sandbox: 127.0.0.1:port (0 picks one) forwards each connection to the proxy's socket. */
export function startBridge(socket: string, port = 0): Promise<Bridge> {
  const open = new Set<Socket>();
  const server = createServer((inside) => {
    open.add(inside);
    inside.once("close", () => open.delete(inside));
    const out = connect(socket);
    const close = () => (inside.destroy(), out.destroy());
    inside.once("error", close);
    out.once("error", close);
    inside.once("close", close);
    out.once("close", close);
    inside.pipe(out);
    out.pipe(inside);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      resolve({ port: typeof addr === "object" && addr ? addr.port : port, close: () => closeServer(server, open) });
    });
  });
}
