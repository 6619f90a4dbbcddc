/**
 * Builds the SolidJS console into memory: hashed JS and CSS under /assets/
 * plus an index.html that names them. build.ts embeds the result in the
 * binary; `bun core/main.ts` (npm start) builds it on the fly.
 */

import { join } from "node:path";
import { SolidPlugin } from "@dschz/bun-plugin-solid";

export interface UiAsset {
  /** URL path, e.g. "/assets/main-1a2b3c.js" or "/index.html". */
  path: string;
  type: string;
  body: Uint8Array<ArrayBuffer>;
  /** Hashed names never change content, so browsers may keep them forever. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  map: "application/json; charset=utf-8",
  woff2: "font/woff2",
  png: "image/png",
};

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f5f4a"/><text x="16" y="22" font-family="Georgia,serif" font-size="17" font-weight="700" text-anchor="middle" fill="#fff">221</text></svg>`;

function indexHtml(scripts: string[], styles: string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Baker Street</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
${styles.map((s) => `<link rel="stylesheet" href="${s}">`).join("\n")}
${scripts.map((s) => `<script type="module" src="${s}"></script>`).join("\n")}
</head>
<body>
<div id="root"><div class="boot" aria-busy="true"><span class="logo">221</span><span>Baker Street</span></div><noscript>Baker Street needs JavaScript.</noscript></div>
</body>
</html>
`;
}

export async function bundleUi(opts: { minify?: boolean } = {}): Promise<UiAsset[]> {
  const minify = opts.minify ?? true;
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "main.tsx")],
    target: "browser",
    format: "esm",
    splitting: true,
    minify,
    sourcemap: "none",
    publicPath: "/assets/",
    naming: { entry: "[name]-[hash].[ext]", chunk: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
    define: { "process.env.NODE_ENV": JSON.stringify(minify ? "production" : "development") },
    plugins: [SolidPlugin({ generate: "dom", hydratable: false, sourceMaps: false })],
  });
  if (!result.success) {
    throw new Error(`UI build failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
  }
  const assets: UiAsset[] = [];
  const entries: string[] = [];
  for (const out of result.outputs) {
    const name = out.path.replace(/^.*[\\/]/, "");
    const ext = name.slice(name.lastIndexOf(".") + 1);
    assets.push({ path: `/assets/${name}`, type: TYPES[ext] ?? "application/octet-stream", body: new Uint8Array(await out.arrayBuffer()), immutable: true });
    if (out.kind === "entry-point") entries.push(`/assets/${name}`);
  }
  const enc = new TextEncoder();
  // The favicon keeps one name so the browser's tab icon survives a rebuild; it may change, so it is not immutable.
  assets.push({ path: "/assets/favicon.svg", type: TYPES.svg!, body: enc.encode(FAVICON), immutable: false });
  const scripts = entries.filter((p) => p.endsWith(".js"));
  const styles = assets.filter((a) => a.path.endsWith(".css")).map((a) => a.path);
  assets.push({ path: "/index.html", type: "text/html; charset=utf-8", body: enc.encode(indexHtml(scripts, styles)), immutable: false });
  return assets;
}
