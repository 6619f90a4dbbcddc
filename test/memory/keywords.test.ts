import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { openStore, type Store } from "../../core/db/client.ts";
import { KeywordIndex, queryTerms } from "../../core/memory/keywords.ts";
import { memories } from "../../core/memory/memory.sql.ts";
import { tempDir } from "../helpers/app.ts";

let dir: string;
let store: Store;
let kw: KeywordIndex;

beforeAll(() => {
  dir = tempDir();
  store = openStore(dir);
  kw = new KeywordIndex(store.sqlite);
  const now = Date.now();
  store.db.transaction((tx) => {
    for (let i = 0; i < 2100; i++) {
      const text = i === 777 ? "The owner paddles a green sea kayak on weekends" : `The owner noted item number ${i} in the ledger`;
      tx.insert(memories)
        .values({ id: `m-${String(i).padStart(5, "0")}`, text, category: i % 2 ? "work" : "personal", source: "import", createdAt: now, updatedAt: now })
        .run();
    }
  });
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("KeywordIndex", () => {
  test("query words drop punctuation, duplicates and stop words", () => {
    expect(queryTerms("What's my kayak's colour? kayak, KAYAK!")).toEqual(["kayak", "colour"]);
    expect(queryTerms("the a of")).toEqual([]);
  });

  test("stemming matches other forms of a word, and edits and deletes stay indexed", () => {
    expect(kw.search("paddling kayaks", { limit: 5 })[0]).toMatchObject({ id: "m-00777", score: 1 });
    store.sqlite.query("UPDATE memories SET text = 'The owner sold the kayak and bought a canoe' WHERE id = 'm-00777'").run();
    expect(kw.search("canoe", { limit: 5 }).map((h) => h.id)).toEqual(["m-00777"]);
    expect(kw.search("paddles", { limit: 5 })).toEqual([]);
    store.sqlite.query("DELETE FROM memories WHERE id = 'm-00777'").run();
    expect(kw.search("canoe", { limit: 5 })).toEqual([]);
  });

  test("a word most memories share is left out when the query has a rarer one", () => {
    const hits = kw.search("owner item 1234", { limit: 3 });
    expect(hits[0]!.id).toBe("m-01234");
  });

  test("a query of only common words matches on its rarest word, or nothing when vectors can carry it", () => {
    expect(kw.search("owner ledger", { limit: 3 })).toHaveLength(3);
    expect(kw.search("owner ledger", { limit: 3, keepCommon: false })).toEqual([]);
  });

  test("a category filter applies", () => {
    const hits = kw.search("item 1234 1235", { limit: 5, category: "work" });
    expect(hits.map((h) => h.id)).toEqual(["m-01235"]);
  });
});
