/**
 * Tier 0 skills in the Agent Skills format: a folder with SKILL.md (YAML front
 * matter with `name` and `description`, then the instructions) and any files
 * beside it. They come from the data dir's `skills/` folder or an uploaded
 * zip, which is unpacked there after its checks: size, file count, names
 * (no absolute paths, `..` or links), exactly one SKILL.md.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AppError } from "../errors.ts";
import { within } from "./paths.ts";
import { MAX_INSTRUCTIONS_CHARS, type SkillSpec } from "./spec.ts";

export const MAX_ZIP_FILES = 200;
export const MAX_ZIP_BYTES = 8 * 1024 * 1024;
const SKILL_FILE = "SKILL.md";

const invalid = (message: string) => new AppError("invalid_skill", message);

/** The front matter and body of a SKILL.md; a refusal names what is wrong. */
export function parseSkillMd(text: string): { name: string; description: string; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text.replace(/^\uFEFF/, ""));
  if (!m) throw invalid("SKILL.md: must start with front matter between --- lines (name, description)");
  let meta: unknown;
  try {
    meta = Bun.YAML.parse(m[1]!);
  } catch (err) {
    throw invalid(`SKILL.md: the front matter is not YAML (${(err as Error).message.slice(0, 200)})`);
  }
  const o = (meta && typeof meta === "object" ? meta : {}) as Record<string, unknown>;
  if (typeof o.name !== "string" || !/^[a-z][a-z0-9-]{0,23}$/.test(o.name))
    throw invalid("SKILL.md name: lower-case letters, digits and -, starting with a letter, at most 24 characters");
  if (typeof o.description !== "string" || !o.description.trim() || o.description.length > 1024)
    throw invalid("SKILL.md description: 1 to 1024 characters saying when to use the skill");
  const body = m[2]!.trim();
  if (!body) throw invalid("SKILL.md: the instructions after the front matter are empty");
  if (body.length > MAX_INSTRUCTIONS_CHARS) throw invalid(`SKILL.md: the instructions are longer than ${MAX_INSTRUCTIONS_CHARS} characters`);
  return { name: o.name, description: o.description.trim(), body };
}

export function tier0Spec(md: { name: string; description: string; body: string }): SkillSpec {
  return { name: md.name, description: md.description, tier: 0, instructions: md.body };
}

/** Every `skills/<folder>/SKILL.md` in the data dir; a bad one is reported, not fatal. */
export function scanSkillDir(root: string): { specs: SkillSpec[]; problems: string[] } {
  const specs: SkillSpec[] = [];
  const problems: string[] = [];
  if (!existsSync(root)) return { specs, problems };
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(root, entry.name, SKILL_FILE);
    if (!existsSync(file)) continue;
    try {
      const md = parseSkillMd(readFileSync(file, "utf8"));
      if (md.name !== entry.name) throw invalid(`SKILL.md name ${md.name} differs from its folder ${entry.name}`);
      specs.push(tier0Spec(md));
    } catch (err) {
      problems.push(`${entry.name}: ${(err as Error).message}`);
    }
  }
  return { specs, problems };
}

/** A file beside a skill's SKILL.md, by a relative path that stays inside its folder. */
export function readSkillFile(root: string, skill: string, path: string): string {
  const dir = join(root, skill);
  if (path.startsWith("/") || path.split("/").some((s) => s === ".." || s === "." || s === ""))
    throw new Error(`${JSON.stringify(path.slice(0, 200))}: a path relative to the skill's folder, without . or ..`);
  const file = join(dir, path);
  if (!within(file, dir) || !existsSync(file)) throw new Error(`the ${skill} skill has no file ${path}`);
  const st = lstatSync(file);
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  if (st.size > 256 * 1024) throw new Error(`${path} is larger than 256 KiB`);
  return readFileSync(file, "utf8");
}

export function listSkillFiles(root: string, skill: string): string[] {
  const dir = join(root, skill);
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && p !== SKILL_FILE) out.push(p);
      if (out.length >= MAX_ZIP_FILES) return;
    }
  };
  walk("");
  return out;
}

/**
 * Unpacks an uploaded zip into `root/<name>/` (replacing an older copy of that
 * skill), after every check; answers the skill's spec. A zip with its files
 * under one top folder is taken as if they were at its root.
 */
export async function unpackSkillZip(zip: Uint8Array, root: string): Promise<SkillSpec> {
  // Loaded by the first upload: fflate costs every start about 25 ms and 8 MB for a route few ever use.
  const { unzipSync } = await import("fflate");
  let declared = 0;
  let count = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter: (f) => {
        count++;
        declared += f.originalSize;
        if (count > MAX_ZIP_FILES) throw invalid(`zip: more than ${MAX_ZIP_FILES} files`);
        if (declared > MAX_ZIP_BYTES) throw invalid(`zip: more than ${MAX_ZIP_BYTES} bytes unpacked`);
        return !f.name.endsWith("/");
      },
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw invalid(`zip: not a zip file this can read (${(err as Error).message.slice(0, 200)})`);
  }
  const names = Object.keys(files);
  let total = 0;
  for (const name of names) {
    total += files[name]!.length;
    if (total > MAX_ZIP_BYTES) throw invalid(`zip: more than ${MAX_ZIP_BYTES} bytes unpacked`);
    if (name.startsWith("/") || name.includes("\\") || name.split("/").some((s) => s === ".." || s === ".") || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
      throw invalid(`zip: ${JSON.stringify(name.slice(0, 200))} is not a plain relative path`);
    }
  }
  const tops = new Set(names.map((n) => n.split("/")[0]!));
  const prefix = !names.includes(SKILL_FILE) && tops.size === 1 && names.every((n) => n.includes("/")) ? `${[...tops][0]}/` : "";
  const md = files[`${prefix}${SKILL_FILE}`];
  if (!md) throw invalid(`zip: no ${SKILL_FILE} at its root (or in its one top folder)`);
  const parsed = parseSkillMd(new TextDecoder().decode(md));
  const dir = join(root, parsed.name);
  const staging = join(root, `.upload-${parsed.name}-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  try {
    for (const name of names) {
      const rel = name.slice(prefix.length);
      if (!rel) continue;
      const target = join(staging, rel);
      if (!within(target, staging)) throw invalid(`zip: ${JSON.stringify(name.slice(0, 200))} leads out of its folder`);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, files[name]!, { mode: 0o600, flag: "wx" });
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return tier0Spec(parsed);
}
