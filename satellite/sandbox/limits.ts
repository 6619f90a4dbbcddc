/**
 * Resource limits set on the sandbox from outside, so that no prlimit has to
 * be exec'd inside (an exec costs about 1 ms on a VM, mostly the dynamic
 * linker). bwrap reports its sandboxed process (`--info-fd`) and holds it
 * before anything is exec'd (`--block-fd`); the worker calls prlimit64(2) on
 * it and only then releases it, so the program never runs a moment without
 * its limits. Needs bun:ffi and glibc; where either is missing, the sandbox
 * runs prlimit inside as before.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import type { Limits } from "./profile.ts";

const MiB = 1024n * 1024n;
/** Resource numbers of Linux's generic ABI, which x86-64 and arm64 both use. */
const RLIMIT = { CPU: 0, FSIZE: 1, CORE: 4, NPROC: 6, NOFILE: 7, AS: 9 } as const;
const O_CLOEXEC = 0o2000000;

export interface LimitSetter {
  /** Sets soft and hard limits of another process; throws with the errno when the kernel refuses. */
  set(pid: number, limits: Limits): void;
  /** A pipe (read end, write end), both close-on-exec in this process. */
  pipe(): [number, number];
}

/** The same values prlimit(1) would set, as [resource, value] pairs. */
export function rlimits(l: Limits): [number, bigint][] {
  return [
    [RLIMIT.CPU, BigInt(l.cpuSeconds)],
    [RLIMIT.AS, BigInt(l.memoryMiB) * MiB],
    [RLIMIT.FSIZE, BigInt(l.fileSizeMiB) * MiB],
    [RLIMIT.NPROC, BigInt(l.processes)],
    [RLIMIT.NOFILE, BigInt(l.openFiles)],
    [RLIMIT.CORE, 0n],
  ];
}

/** libc's prlimit64 and pipe2, or undefined where they cannot be loaded (no bun:ffi, not glibc) or do not answer. */
export function loadLimitSetter(): LimitSetter | undefined {
  let libc;
  try {
    libc = dlopen("libc.so.6", {
      prlimit64: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
      pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
  } catch {
    return undefined;
  }
  const { prlimit64, pipe2, __errno_location } = libc.symbols;
  const errno = () => read.i32(__errno_location()!, 0);
  // Reading this process's own core limit proves the call works here.
  const probe = new BigUint64Array(2);
  if (prlimit64(0, RLIMIT.CORE, null, ptr(probe)) !== 0) return undefined;
  return {
    set(pid, limits) {
      for (const [resource, value] of rlimits(limits)) {
        if (prlimit64(pid, resource, ptr(new BigUint64Array([value, value])), null) !== 0) {
          throw new Error(`prlimit64(${pid}, ${resource}) failed with errno ${errno()}`);
        }
      }
    },
    pipe() {
      const fds = new Int32Array(2);
      if (pipe2(ptr(fds), O_CLOEXEC) !== 0) throw new Error(`pipe2 failed with errno ${errno()}`);
      return [fds[0]!, fds[1]!];
    },
  };
}
