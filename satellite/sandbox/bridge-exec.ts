/**
 * `bakerst-satellite --mode bridge -- PROGRAM ARGS`: inside a sandbox whose only
 * way out is the host's egress proxy on a unix socket, runs PROGRAM with its
 * stdin, stdout and stderr as they are (an MCP server speaks over them) and
 * HTTP_PROXY / HTTPS_PROXY at a bridge on 127.0.0.1 that forwards to the
 * socket. Exits with the program's code; a signal it gets is passed on.
 */
import { spawn } from "node:child_process";
import { startBridge } from "./egress.ts";

export async function runBridged(command: string[], env: Record<string, string | undefined>): Promise<number> {
  const socket = env.TASK_EGRESS_SOCKET;
  if (!socket) {
    process.stderr.write("bakerst-satellite --mode bridge: TASK_EGRESS_SOCKET (the egress proxy's socket) is not set\n");
    return 2;
  }
  const bridge = await startBridge(socket);
  const proxy = `http://127.0.0.1:${bridge.port}`;
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== "TASK_EGRESS_SOCKET") childEnv[k] = v;
  Object.assign(childEnv, { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: "", no_proxy: "" });
  const child = spawn(command[0]!, command.slice(1), { stdio: "inherit", env: childEnv });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => {
    child.once("error", (err) => {
      process.stderr.write(`bakerst-satellite --mode bridge: ${command[0]}: ${err.message}\n`);
      resolve(127);
    });
    child.once("exit", (c, signal) => resolve(c ?? (signal ? 128 + 15 : 1)));
  });
  await bridge.close();
  return code;
}
