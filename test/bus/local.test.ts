import { afterAll } from "bun:test";
import { rmSync } from "node:fs";
import { LocalBus } from "../../core/bus/local.ts";
import { openStore, type Store } from "../../core/db/client.ts";
import { tempDir } from "../helpers/app.ts";
import { busContract } from "./contract.ts";

const dirs: string[] = [];
const stores: Store[] = [];
afterAll(() => {
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

busContract("in-process (SQLite)", () => {
  const dir = tempDir();
  dirs.push(dir);
  const openBus = () => {
    const store = openStore(dir);
    stores.push(store);
    return Promise.resolve(new LocalBus(store.sqlite));
  };
  return { open: openBus, reopen: openBus };
});
