import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import type { Redactor } from "../../../core/agent/redact.ts";
import { type HttpJob, JobError } from "../../../core/protocol/index.ts";
// Cloud metadata and link-local addresses: never reachable from a job, whatever the lists say (the sandbox's egress proxy uses the same).
import { isMetadata, METADATA_NAMES } from "../../sandbox/egress.ts";

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
export const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;

const FORBIDDEN_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "content-length",
]);

export interface HostRules {
  cidrs: BlockList;
  hosts: string[];
  empty: boolean;
}

export interface HttpPolicy {
  /** When not empty, only these hosts/CIDRs are reachable. */
  allow: HostRules;
  deny: HostRules;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** `10.0.0.0/8,api.example.com,*.lan` → rules; throws naming the bad entry. */
export function parseHostRules(key: string, entries: string[]): HostRules {
  const cidrs = new BlockList();
  const hosts: string[] = [];
  for (const raw of entries.map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    const [addr = "", bits] = raw.split("/", 2);
    const family = isIP(addr);
    if (family) {
      const type = family === 4 ? "ipv4" : "ipv6";
      if (bits === undefined) cidrs.addAddress(addr, type);
      else {
        const n = Number(bits);
        if (!Number.isInteger(n) || n < 0 || n > (family === 4 ? 32 : 128)) throw new Error(`${key}: ${raw} has a bad prefix length`);
        cidrs.addSubnet(addr, n, type);
      }
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(raw)) hosts.push(raw);
    else throw new Error(`${key}: ${JSON.stringify(raw)} is neither a host name, an IP address nor a CIDR`);
  }
  return { cidrs, hosts, empty: !entries.some((e) => e.trim()) };
}

const hostMatches = (rules: HostRules, host: string) => rules.hosts.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) : host === h));
const ipMatches = (rules: HostRules, ip: string) => rules.cidrs.check(ip, isIP(ip) === 4 ? "ipv4" : "ipv6");

function checkAddress(ip: string, host: string, policy: HttpPolicy): void {
  if (isMetadata(ip)) throw new JobError("refused", `url: ${host} resolves to ${ip}, a cloud metadata / link-local address; refused`);
  if (ipMatches(policy.deny, ip) || hostMatches(policy.deny, host)) throw new JobError("refused", `url: ${host} (${ip}) is on HTTP_JOB_DENY`);
  if (!policy.allow.empty && !ipMatches(policy.allow, ip) && !hostMatches(policy.allow, host)) {
    throw new JobError("refused", `url: ${host} (${ip}) is not on HTTP_JOB_ALLOW`);
  }
}

/** Validates a URL and every address its host resolves to; returns the address to connect to. */
export async function checkUrl(raw: string, policy: HttpPolicy): Promise<{ url: URL; ip: string }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new JobError("invalid_job", `url: ${JSON.stringify(raw.slice(0, 200))} is not a valid absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new JobError("invalid_job", `url: only http and https are allowed, not ${url.protocol}`);
  if (url.username || url.password) throw new JobError("invalid_job", "url: credentials in the URL are not allowed; send an Authorization header");
  // URL() has already normalised decimal/hex/octal IPv4 forms to dotted quads.
  const host = url.hostname
    .replace(/^\[|\]$/g, "")
    .toLowerCase()
    .replace(/\.$/, "");
  if (METADATA_NAMES.has(host)) throw new JobError("refused", `url: ${host} is a cloud metadata host; refused`);
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      throw new JobError("http_error", `url: cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (!addresses.length) throw new JobError("http_error", `url: ${host} has no addresses`);
  // Every address is checked: a name with one public and one metadata address is refused.
  for (const ip of addresses) checkAddress(ip, host, policy);
  return { url, ip: addresses[0]! };
}

async function readCapped(res: Response, max: number, signal: AbortSignal): Promise<{ text: string; bytes: number; truncated: boolean }> {
  if (!res.body) return { text: "", bytes: 0, truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (true) {
    if (signal.aborted) throw signal.reason;
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      size = max;
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const buf = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    buf.set(c, off);
    off += c.byteLength;
  }
  return { text: new TextDecoder().decode(buf), bytes: size, truncated };
}

export interface HttpResult {
  status: number;
  ok: boolean;
  url: string;
  headers: Record<string, string>;
  body: string;
  durationMs: number;
}

export function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw new JobError("invalid_job", `headers: ${JSON.stringify(k.slice(0, 60))} is not a valid header name`);
    if (FORBIDDEN_HEADERS.has(k.toLowerCase())) throw new JobError("invalid_job", `headers.${k}: this header is set by the worker and cannot be sent`);
    if (/[\0\r\n]/.test(v)) throw new JobError("invalid_job", `headers.${k}: CR, LF and NUL are not allowed in header values`);
    out[k] = v;
  }
  return out;
}

/**
 * One HTTP request under the policy. Redirects are followed by hand so each
 * hop's host and addresses are checked again; plain-http requests connect to
 * the checked address itself so DNS cannot change between check and use.
 */
export async function runHttp(job: HttpJob, policy: HttpPolicy, redactor: Redactor, signal: AbortSignal): Promise<HttpResult> {
  const headers = checkHeaders(job.headers);
  let method: string = job.method ?? "GET";
  let body = job.body;
  if (body !== undefined && (method === "GET" || method === "HEAD")) throw new JobError("invalid_job", `body: a ${method} request cannot carry a body`);
  const timeoutMs = job.timeoutMs ?? policy.timeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const all = AbortSignal.any([signal, timeout]);
  const started = performance.now();
  let target = job.url;
  try {
    for (let hop = 0; ; hop++) {
      const { url, ip } = await checkUrl(target, policy);
      let fetchUrl = url.toString();
      const sendHeaders: Record<string, string> = { ...headers };
      if (url.protocol === "http:" && !isIP(url.hostname.replace(/^\[|\]$/g, ""))) {
        const pinned = new URL(url);
        pinned.hostname = isIP(ip) === 6 ? `[${ip}]` : ip;
        fetchUrl = pinned.toString();
        sendHeaders.host = url.host;
      }
      const res = await fetch(fetchUrl, { method, headers: sendHeaders, body, redirect: "manual", signal: all });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel().catch(() => {});
        if (hop >= MAX_REDIRECTS) throw new JobError("http_error", `url: more than ${MAX_REDIRECTS} redirects`);
        target = new URL(location, url).toString();
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
        }
        // Credentials stay with the host they were meant for.
        if (new URL(target).host !== url.host) for (const k of Object.keys(headers)) if (/^(authorization|cookie)$/i.test(k)) delete headers[k];
        continue;
      }
      const read = await readCapped(res, policy.maxResponseBytes, all);
      const keep = ["content-type", "content-length", "etag", "last-modified", "date"];
      return {
        status: res.status,
        ok: res.ok,
        url: url.toString(),
        headers: Object.fromEntries(keep.flatMap((k) => (res.headers.has(k) ? [[k, res.headers.get(k)!]] : []))),
        body: redactor.redact(read.text) + (read.truncated ? `\n[response truncated at ${policy.maxResponseBytes} bytes]` : ""),
        durationMs: Math.round(performance.now() - started),
      };
    }
  } catch (err) {
    if (err instanceof JobError) throw err;
    if (timeout.aborted) throw new JobError("timeout", `request to ${target} took longer than ${timeoutMs} ms`);
    if (signal.aborted) throw new JobError("timeout", `request to ${target} was cancelled`);
    throw new JobError("http_error", `request to ${target} failed: ${(err as Error).message}`);
  }
}
