/**
 * `bun run build`: compiles dist/bakerst (core + embedded UI) and
 * dist/bakerst-satellite, each a single file that runs with nothing beside it.
 */

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BunPlugin } from "bun";
import { bundleUi, type UiAsset } from "./ui/bundle.ts";

const root = import.meta.dir;

export const PLATFORMS = ["linux-x64", "linux-arm64"] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface BuildOptions {
  outdir?: string;
  /** Which binaries; default both. */
  targets?: ("bakerst" | "bakerst-satellite")[];
  minify?: boolean;
  /** Cross-compile for another platform (Bun fetches that runtime); default this machine's. */
  platform?: Platform;
}

const ENTRIES = {
  bakerst: "core/main.ts",
  "bakerst-satellite": "satellite/main.ts",
} as const;

/**
 * Replaces core/web/source.ts (which bundles the UI at run time) with a module
 * holding the prebuilt files, so the binary serves them from memory.
 */
function embedUi(assets: UiAsset[]): BunPlugin {
  const dec = new TextDecoder("utf-8", { fatal: true });
  const entries = assets.map((a) => {
    let text: string | undefined;
    try {
      text = dec.decode(a.body);
    } catch {
      text = undefined;
    }
    const body =
      text !== undefined ? `enc.encode(${JSON.stringify(text)})` : `Uint8Array.from(atob(${JSON.stringify(Buffer.from(a.body).toString("base64"))}), (c) => c.charCodeAt(0))`;
    return `{ path: ${JSON.stringify(a.path)}, type: ${JSON.stringify(a.type)}, immutable: ${a.immutable}, body: ${body} }`;
  });
  const contents = `const enc = new TextEncoder();\nexport async function loadUiAssets() {\n  return [\n${entries.join(",\n")}\n  ];\n}\n`;
  return {
    name: "bakerst-embed-ui",
    setup(b) {
      b.onLoad({ filter: /[\\/]core[\\/]web[\\/]source\.ts$/ }, () => ({ contents, loader: "ts" }));
    },
  };
}

/**
 * The sqlite-vec extension embedded in the core is the one for the platform
 * built for: `npm install --no-save --force sqlite-vec-linux-arm64@<version>`
 * puts the arm64 one beside the x64 one for a cross build.
 */
function vecForPlatform(platform: Platform): BunPlugin {
  return {
    name: "bakerst-sqlite-vec-platform",
    setup(b) {
      b.onResolve({ filter: /^sqlite-vec-linux-x64\/vec0\.so$/ }, () => {
        const file = join(root, "node_modules", `sqlite-vec-${platform}`, "vec0.so");
        if (!existsSync(file)) throw new Error(`${file} is missing: npm install --no-save --force sqlite-vec-${platform}@$(node -p "require('sqlite-vec/package.json').version")`);
        return { path: file };
      });
    },
  };
}

export async function build(opts: BuildOptions = {}): Promise<string[]> {
  const outdir = resolve(opts.outdir ?? join(root, "dist"));
  mkdirSync(outdir, { recursive: true });
  const built: string[] = [];
  const targets = opts.targets ?? (Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]);
  const ui = targets.includes("bakerst") ? await bundleUi({ minify: opts.minify ?? true }) : [];
  for (const name of targets) {
    const entry = join(root, ENTRIES[name]);
    if (!existsSync(entry)) continue;
    const outfile = join(outdir, name);
    const result = await Bun.build({
      entrypoints: [entry],
      compile: { outfile, ...(opts.platform ? { target: `bun-${opts.platform}` as const } : {}) },
      minify: opts.minify ?? true,
      // Precompiled bytecode: start-up drops from ~150 ms to ~40 ms.
      bytecode: true,
      format: "esm",
      sourcemap: "linked",
      define: { "process.env.NODE_ENV": JSON.stringify("production") },
      // Optional peers of `voyageai`, only for its on-device models, which bakerst never uses.
      external: ["@huggingface/transformers", "onnxruntime-node"],
      plugins: [...(name === "bakerst" ? [embedUi(ui)] : []), ...(opts.platform && opts.platform !== "linux-x64" ? [vecForPlatform(opts.platform)] : [])],
    });
    if (!result.success) {
      for (const log of result.logs) console.error(log);
      throw new Error(`build of ${name} failed`);
    }
    built.push(outfile);
  }
  return built;
}

if (import.meta.main) {
  const started = performance.now();
  // `bun build.ts --platform linux-arm64 --outdir dist/linux-arm64`: what the release workflow runs per platform.
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const platform = arg("--platform");
  if (platform !== undefined && !(PLATFORMS as readonly string[]).includes(platform)) {
    console.error(`--platform must be one of ${PLATFORMS.join(", ")}, got ${JSON.stringify(platform)}`);
    process.exit(2);
  }
  const outdir = arg("--outdir") ?? join(root, "dist");
  const files = await build({ outdir, ...(platform ? { platform: platform as Platform } : {}) });
  // A plain build also makes the companion for ARM machines (a Raspberry Pi, an ARM NAS); the core too when sqlite-vec's arm64 package is there.
  if (!platform && process.arch !== "arm64") {
    const arm = join(outdir, "linux-arm64");
    const withCore = existsSync(join(root, "node_modules", "sqlite-vec-linux-arm64", "vec0.so"));
    files.push(...(await build({ outdir: arm, platform: "linux-arm64", targets: withCore ? ["bakerst", "bakerst-satellite"] : ["bakerst-satellite"] })));
    if (!withCore)
      console.log(
        `(the arm64 core needs sqlite-vec-linux-arm64: npm install --no-save --force sqlite-vec-linux-arm64@$(node -p "require('sqlite-vec/package.json').version"), then bun run build again)`,
      );
  }
  for (const f of files) console.log(`built ${f} (${(Bun.file(f).size / 1e6).toFixed(1)} MB)`);
  console.log(`in ${Math.round(performance.now() - started)} ms`);
}
