import { rmSync } from "node:fs";
import { afterAll } from "bun:test";
import { LocalBus } from "../../core/jobs/bus/local.ts";
import { openStore, type Store } from "../../core/db/client.ts";
import { tempDir } from "../helpers/app.ts";
import { busContract } from "./bus-contract.ts";

const dirs: string[] = [];
const stores: Store[] = [];
afterAll(() => {
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

busContract("in-process (SQLite)", () => {
  const dir = tempDir();
  dirs.push(dir);
  const openBus = (ackWaitMs: number) => {
    const store = openStore(dir);
    stores.push(store);
    return Promise.resolve(new LocalBus(store.sqlite, ackWaitMs));
  };
  return { open: openBus, reopen: openBus };
});
