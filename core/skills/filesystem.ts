/**
 * The built-in filesystem skill: read, list and stat under SKILL_ALLOWED_PATHS,
 * nothing else. Every path is resolved (symlinks followed) before the check,
 * so `..`, a symlink pointing out or a path through one cannot leave the
 * allowed directories; the data dir and credentials are never readable.
 */
import { closeSync, type Dirent, fstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats, statSync } from "node:fs";
import { Type } from "@sinclair/typebox";
import { defineTool } from "../brain/tools.ts";
import { checkPath, type PathPolicy } from "./paths.ts";

export const FILESYSTEM_SKILL = "filesystem";
const MAX_READ_BYTES = 256 * 1024;
const MAX_ENTRIES = 500;

const Path = Type.String({ minLength: 1, maxLength: 4096 });

function allowed(path: string, policy: PathPolicy): string {
  const r = checkPath(path, policy);
  if (!r.ok) throw new Error(`${JSON.stringify(path.slice(0, 200))} ${r.reason}${policy.allowed.length ? ` (allowed: ${policy.allowed.join(", ")})` : ""}`);
  return r.real;
}

const kindOf = (e: Dirent | Stats) => (e.isDirectory() ? "directory" : e.isFile() ? "file" : e.isSymbolicLink() ? "symlink" : "other");

export function filesystemTools(policy: () => PathPolicy) {
  return [
    defineTool({
      name: `${FILESYSTEM_SKILL}__read`,
      description: "Read a text file in the allowed directories (256 KiB from offset).",
      input: Type.Object({ path: Path, offset: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
      run({ path, offset }) {
        const real = allowed(path, policy());
        // Opened once and checked on the descriptor: what is read is what was checked.
        const fd = openSync(real, "r");
        try {
          // A symlink swapped in between the check and the open is caught here: the open file's own path is checked again.
          if (!checkPath(readlinkSync(`/proc/self/fd/${fd}`), policy()).ok) throw new Error(`${path} changed while it was opened`);
          const st = fstatSync(fd);
          if (!st.isFile()) throw new Error(`${path} is not a regular file`);
          const buf = Buffer.alloc(Math.min(MAX_READ_BYTES, Math.max(0, st.size - (offset ?? 0))));
          const n = readSync(fd, buf, 0, buf.length, offset ?? 0);
          const text = buf.subarray(0, n).toString("utf8");
          const rest = st.size - (offset ?? 0) - n;
          return rest > 0 ? `${text}\n[${rest} more bytes: read again with offset ${(offset ?? 0) + n}]` : text;
        } finally {
          closeSync(fd);
        }
      },
    }),
    defineTool({
      name: `${FILESYSTEM_SKILL}__list`,
      description: "List a directory in the allowed directories.",
      input: Type.Object({ path: Path }, { additionalProperties: false }),
      run({ path }) {
        const real = allowed(path, policy());
        const entries = readdirSync(real, { withFileTypes: true }).slice(0, MAX_ENTRIES);
        return entries.map((e) => {
          let size: number | undefined;
          try {
            size = e.isFile() ? statSync(`${real}/${e.name}`).size : undefined;
          } catch {
            size = undefined;
          }
          return { name: e.name, kind: kindOf(e), ...(size !== undefined ? { size } : {}) };
        });
      },
    }),
    defineTool({
      name: `${FILESYSTEM_SKILL}__stat`,
      description: "Size, kind, mode and time of a path in the allowed directories.",
      input: Type.Object({ path: Path }, { additionalProperties: false }),
      run({ path }) {
        const real = allowed(path, policy());
        const st = statSync(real);
        return { path: real, kind: kindOf(st), size: st.size, mode: (st.mode & 0o7777).toString(8), modified: st.mtime.toISOString() };
      },
    }),
  ];
}
