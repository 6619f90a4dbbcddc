export {};

/**
 * A load generator in its own process: POSTs `n` copies of a body to a URL
 * from `c` concurrent clients and prints the elapsed milliseconds.
 * Usage: bun scripts/bench/load.ts URL TOKEN BODY N C
 */
const [url, token, body, n = "1000", c = "32"] = process.argv.slice(2);
if (!url || !token || !body) {
  console.error("usage: bun scripts/bench/load.ts URL TOKEN BODY N C");
  process.exit(2);
}
const total = Number(n);
let sent = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: Number(c) }, async () => {
    while (sent < total) {
      sent++;
      const r = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
      await r.arrayBuffer();
      if (r.status !== 202) throw new Error(`POST answered ${r.status}`);
    }
  }),
);
console.log(Math.round(performance.now() - t0));
