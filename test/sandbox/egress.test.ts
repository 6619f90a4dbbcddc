import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import {
  canonicalHost,
  checkDestination,
  type EgressEvent,
  type EgressProxy,
  EgressRefused,
  EgressRuleError,
  parseAllowlist,
  startBridge,
  startEgressProxy,
} from "../../satellite/sandbox/egress.ts";
import { tempDir } from "../helpers/app.ts";

/**
 * The egress proxy on its own, over real sockets: what it lets through and
 * what it refuses, in every spelling. (test/tasks/network.test.ts drives it
 * from inside a real sandbox.)
 */
let allowed: ReturnType<typeof Bun.serve>;
let other: ReturnType<typeof Bun.serve>;
const hits = { allowed: 0, other: 0 };
let proxy: EgressProxy;
const events: EgressEvent[] = [];

beforeAll(async () => {
  allowed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (hits.allowed++, new Response(`allowed ${new URL(req.url).pathname}`)) });
  other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits.other++, new Response("other")) });
  proxy = await startEgressProxy({ listen: { socket: join(tempDir(), "egress.sock") }, allow: parseAllowlist([`localhost:${allowed.port}`]), onEvent: (e) => events.push(e) });
});
afterAll(async () => {
  await proxy.close();
  allowed.stop(true);
  other.stop(true);
});

/** Sends raw bytes to the proxy's socket and reads the answer until it closes. */
function raw(request: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(proxy.address);
    let out = "";
    s.on("data", (b) => (out += b.toString()));
    s.on("close", () => resolve(out));
    s.on("error", () => resolve(out));
    s.write(request);
    // A CONNECT tunnel stays open: send a request through it, then let it close.
    if (request.startsWith("CONNECT")) s.once("data", () => s.write("GET /tunnel HTTP/1.0\r\nHost: x\r\n\r\n"));
  });
}

describe("Egress allowlist entries", () => {
  test("names, wildcards, addresses and ports are read; anything else, and metadata, is refused naming the entry", () => {
    expect(parseAllowlist(["API.Example.com", "*.debian.org", "10.0.0.5:8443", "[::1]:80"])).toEqual([
      { host: "api.example.com", ports: [80, 443] },
      { host: "*.debian.org", ports: [80, 443] },
      { host: "10.0.0.5", ports: [8443] },
      { host: "::1", ports: [80] },
    ]);
    for (const bad of ["http://x.com", "a b", "x.com/path", "user@x.com", "x.com:99999", "*.10.0.0.1"]) expect(() => parseAllowlist([bad]), bad).toThrow(EgressRuleError);
    for (const meta of ["169.254.169.254", "metadata.google.internal", "0xa9fea9fe", "[::ffff:169.254.169.254]", "100.100.100.200"]) {
      expect(() => parseAllowlist([meta]), meta).toThrow(/metadata/);
    }
  });

  test("every spelling of an address reads as the address", () => {
    for (const spelling of ["169.254.169.254", "0xa9fea9fe", "2852039166", "0251.0376.0251.0376", "169.254.43518", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]"]) {
      expect(canonicalHost(`${spelling}:80`)?.host, spelling).toBe("169.254.169.254");
    }
    expect(canonicalHost("LocalHost.:8080")).toEqual({ host: "localhost", port: 8080 });
  });
});

describe("Egress destinations", () => {
  const list = parseAllowlist(["localhost:8080", "api.example.com", "*.lan"]);
  const dns = (answers: Record<string, string[]>) => async (host: string) => answers[host] ?? [];

  test("a listed name on a listed port goes to the address it resolves to", async () => {
    expect(await checkDestination(list, "api.example.com", 443, dns({ "api.example.com": ["93.184.216.34"] }))).toBe("93.184.216.34");
    expect(await checkDestination(list, "nas.lan", 80, dns({ "nas.lan": ["192.168.1.20"] }))).toBe("192.168.1.20");
    expect(await checkDestination(list, "localhost", 8080)).toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  test("unlisted hosts, ports and the apex of a wildcard are refused", async () => {
    for (const [host, port] of [
      ["other.example.com", 443],
      ["api.example.com", 22],
      ["lan", 80],
      ["localhost", 9090],
      ["127.0.0.1", 8080],
    ] as const) {
      await expect(checkDestination(list, host, port, dns({})), `${host}:${port}`).rejects.toThrow(EgressRefused);
    }
  });

  test("a listed name whose answer holds a metadata address, or this machine, is refused, whatever else it holds", async () => {
    await expect(checkDestination(list, "api.example.com", 443, dns({ "api.example.com": ["93.184.216.34", "169.254.169.254"] }))).rejects.toThrow(/metadata/);
    await expect(checkDestination(list, "api.example.com", 443, dns({ "api.example.com": ["::ffff:169.254.169.254"] }))).rejects.toThrow(/metadata/);
    await expect(checkDestination(list, "nas.lan", 80, dns({ "nas.lan": ["127.0.0.1"] }))).rejects.toThrow(/this machine/);
    await expect(checkDestination(list, "nas.lan", 80, dns({ "nas.lan": ["0.0.0.0"] }))).rejects.toThrow(/this machine/);
  });
});

describe("EgressProxy over its socket", () => {
  test("plain HTTP in absolute form to the listed host is forwarded; the host sees an origin-form request", async () => {
    const before = hits.allowed;
    const out = await raw(`GET http://localhost:${allowed.port}/hello?x=1 HTTP/1.1\r\nHost: localhost:${allowed.port}\r\nProxy-Connection: keep-alive\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(out).toContain("allowed /hello");
    expect(hits.allowed).toBe(before + 1);
  });

  test("CONNECT to the listed host opens a tunnel", async () => {
    const before = hits.allowed;
    const out = await raw(`CONNECT localhost:${allowed.port} HTTP/1.1\r\nHost: localhost:${allowed.port}\r\n\r\n`);
    expect(out).toContain("200 Connection Established");
    expect(out).toContain("allowed /tunnel");
    expect(hits.allowed).toBe(before + 1);
  });

  test("another port, the loopback address itself and metadata in any spelling get 403, and no listener hears a thing", async () => {
    const before = { ...hits };
    for (const target of [
      `http://localhost:${other.port}/`,
      `http://127.0.0.1:${allowed.port}/`,
      `http://[::1]:${allowed.port}/`,
      "http://169.254.169.254/latest/meta-data/",
      "http://0xa9fea9fe/",
      "http://2852039166/",
      "http://0251.0376.0251.0376/",
      "http://[::ffff:169.254.169.254]/",
      "http://metadata.google.internal/",
    ]) {
      const out = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(out, target).toMatch(/^HTTP\/1\.1 403/);
      expect(out).toContain("x-bakerst-egress: refused");
    }
    for (const target of [`localhost:${other.port}`, `127.0.0.1:${other.port}`, "169.254.169.254:80"]) {
      expect(await raw(`CONNECT ${target} HTTP/1.1\r\n\r\n`), target).toMatch(/^HTTP\/1\.1 403/);
    }
    expect(hits).toEqual(before);
    expect(events.filter((e) => !e.allowed).length).toBeGreaterThanOrEqual(12);
  });

  test("what is not a proxy request is refused: origin form, https in absolute form, garbage, a head too large", async () => {
    expect(await raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET https://localhost:${allowed.port}/ HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw("\x16\x03\x01 not http\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET http://localhost:${allowed.port}/ HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
  });

  test("the bridge forwards a TCP port to the socket, as the runner does inside the sandbox", async () => {
    const bridge = await startBridge(proxy.address);
    try {
      const res = await fetch(`http://localhost:${allowed.port}/via-bridge`, { proxy: `http://127.0.0.1:${bridge.port}` });
      expect(await res.text()).toBe("allowed /via-bridge");
      const refused = await fetch(`http://localhost:${other.port}/`, { proxy: `http://127.0.0.1:${bridge.port}` });
      expect(refused.status).toBe(403);
    } finally {
      await bridge.close();
    }
  });
});
