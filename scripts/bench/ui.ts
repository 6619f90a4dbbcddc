/**
 * UI benchmark: shipped JS and CSS (raw and gzipped), then first contentful
 * paint and time to an interactive chat, measured in headless Chromium
 * against the compiled binary on localhost. Prints a markdown table.
 *
 *   bun scripts/bench/ui.ts [--runs 15]
 */
import { parseArgs } from "node:util";
import { startBinary } from "../../test/helpers/binary.ts";
import { launchBrowser } from "../../test/helpers/browser.ts";
import { bundleUi } from "../../ui/bundle.ts";
import { percentile, table } from "./lib.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const runs = Math.max(3, Number(values.runs));
const TOKEN = "bench-token-0123456789abcdef";
const TARGET_JS_GZ_KB = 120;
const TARGET_FCP_MS = 300;

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const gz = (b: Uint8Array) => Bun.gzipSync(b as Uint8Array<ArrayBuffer>, { level: 9 }).byteLength;
const pct = (xs: number[], p: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  );

// Sizes: what a first visit downloads (index.html's entry script and stylesheet) and everything shipped.
const assets = await bundleUi({ minify: true });
const html = new TextDecoder().decode(assets.find((a) => a.path === "/index.html")!.body);
const initial = new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!));
const sum = (pred: (p: string) => boolean) => {
  const picked = assets.filter((a) => pred(a.path));
  return { raw: picked.reduce((n, a) => n + a.body.byteLength, 0), gz: picked.reduce((n, a) => n + gz(a.body), 0) };
};
const jsFirst = sum((p) => p.endsWith(".js") && initial.has(p));
const jsAll = sum((p) => p.endsWith(".js"));
const css = sum((p) => p.endsWith(".css"));

const app = await startBinary({ AUTH_TOKEN: TOKEN });
const browser = await launchBrowser();
const fcp: number[] = [];
const interactive: number[] = [];
try {
  const login = await fetch(`${app.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: TOKEN }) });
  const sid = /bakerst_session=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1];
  if (!sid) throw new Error("login failed");
  for (let i = 0; i < runs + 1; i++) {
    // A fresh profile each run: cold HTTP cache, like a first visit.
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.addCookies([{ name: "bakerst_session", value: sid, url: app.url }]);
    await ctx.addInitScript(() => {
      const w = window as unknown as { __ready?: number };
      const check = () => {
        const box = document.getElementById("message") as HTMLTextAreaElement | null;
        if (box && !box.disabled && document.querySelector(".conv-list") && !w.__ready) w.__ready = performance.now();
      };
      new MutationObserver(check).observe(document, { childList: true, subtree: true });
    });
    const page = await ctx.newPage();
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => (window as unknown as { __ready?: number }).__ready !== undefined);
    const m = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
      ready: (window as unknown as { __ready: number }).__ready,
    }));
    await ctx.close();
    if (i === 0) continue; // warm-up: the first launch pays for Chromium's own start
    fcp.push(m.fcp);
    interactive.push(m.ready);
  }
} finally {
  await browser.close();
  await app.stop();
}

const met = (ok: boolean) => (ok ? "yes" : "NO");
console.log(
  table(`Web console (${runs} cold loads, headless Chromium, compiled binary on localhost)`, [
    ["JS, first load (gzip / raw)", `${kb(jsFirst.gz)} / ${kb(jsFirst.raw)}`, `≤ ${TARGET_JS_GZ_KB} KB gzip`, met(jsFirst.gz <= TARGET_JS_GZ_KB * 1024)],
    ["JS, every page (gzip / raw)", `${kb(jsAll.gz)} / ${kb(jsAll.raw)}`, `≤ ${TARGET_JS_GZ_KB} KB gzip`, met(jsAll.gz <= TARGET_JS_GZ_KB * 1024)],
    ["CSS (gzip / raw)", `${kb(css.gz)} / ${kb(css.raw)}`, "", ""],
    ["first contentful paint p50 / p90", `${pct(fcp, 50).toFixed(0)} ms / ${pct(fcp, 90).toFixed(0)} ms`, `≤ ${TARGET_FCP_MS} ms`, met(pct(fcp, 50) <= TARGET_FCP_MS)],
    ["interactive chat p50 / p90", `${pct(interactive, 50).toFixed(0)} ms / ${pct(interactive, 90).toFixed(0)} ms`, "", ""],
  ]),
);
