import type { Database } from "bun:sqlite";
import type { Category } from "./types.ts";

const STOPWORDS = new Set(
  (
    "a an and are as at be by can could did do does for from had has have how i if in is it its me my no not of on or our please " +
    "should so tell that the their them there they this to us was we were what when where which who why will with would you your"
  ).split(" "),
);

/** The words of a query worth matching, for FTS5 (quoted, so no operator syntax leaks through). */
export function queryTerms(q: string): string[] {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((w) => w.length > 1 && !STOPWORDS.has(w)))].slice(0, 16);
}

/** Past this many memories, words found in more than COMMON_SHARE of them are left out of the query. */
const PRUNE_FROM = 2_000;
const COMMON_SHARE = 0.05;

export interface KeywordHit {
  id: string;
  text: string;
  category: Category;
  /** 0..1, the best hit of the query is 1. */
  score: number;
}

/**
 * FTS5 over the memories table, kept in step by triggers so every write path
 * (API, tools, import, dedup updates) is indexed the same way.
 */
export class KeywordIndex {
  constructor(private db: Database) {
    db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(id UNINDEXED, text, tokenize = 'porter unicode61')");
    db.exec(`CREATE TRIGGER IF NOT EXISTS memories_fts_ai AFTER INSERT ON memories BEGIN
      INSERT INTO memories_fts (id, text) VALUES (new.id, new.text); END`);
    db.exec(`CREATE TRIGGER IF NOT EXISTS memories_fts_ad AFTER DELETE ON memories BEGIN
      DELETE FROM memories_fts WHERE id = old.id; END`);
    db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts_vocab USING fts5vocab(memories_fts, 'row')");
    db.exec(`CREATE TRIGGER IF NOT EXISTS memories_fts_au AFTER UPDATE OF text ON memories BEGIN
      DELETE FROM memories_fts WHERE id = old.id; INSERT INTO memories_fts (id, text) VALUES (new.id, new.text); END`);
  }

  /**
   * BM25 scores every memory holding any query word, so a word most memories
   * share ("owner", "home") costs a scan of most of the index while telling
   * little apart. Such words are dropped (the rarest is kept when all are common,
   * unless the caller has vectors to fall back on).
   * The index holds porter stems; a stem is usually a prefix of its word, so the
   * longest indexed prefix gives the word's document count (unknown: kept).
   */
  private prune(terms: string[], keepCommon: boolean): string[] {
    const total = (this.db.query("SELECT count(*) AS n FROM memories").get() as { n: number }).n;
    if (total < PRUNE_FROM) return terms;
    const prefixes = [...new Set(terms.flatMap((t) => Array.from({ length: Math.max(0, t.length - 2) }, (_, i) => t.slice(0, i + 3))))];
    if (!prefixes.length) return terms;
    const docs = new Map(
      (this.db.query(`SELECT term, doc FROM memories_fts_vocab WHERE term IN (${prefixes.map(() => "?").join(",")})`).all(...prefixes) as { term: string; doc: number }[]).map(
        (r) => [r.term, r.doc],
      ),
    );
    const df = (t: string) => {
      for (let l = t.length; l >= 3; l--) {
        const d = docs.get(t.slice(0, l));
        if (d !== undefined) return d;
      }
      return 0;
    };
    const limit = total * COMMON_SHARE;
    const kept = terms.filter((t) => df(t) <= limit);
    if (kept.length || !keepCommon) return kept;
    return [terms.reduce((a, b) => (df(b) < df(a) ? b : a))];
  }

  /** `keepCommon: false` (vectors carry the meaning) lets a query of only common words match nothing. */
  search(q: string, opts: { limit: number; category?: Category; keepCommon?: boolean }): KeywordHit[] {
    const terms = this.prune(queryTerms(q), opts.keepCommon ?? true);
    if (!terms.length) return [];
    const match = terms.map((t) => `"${t}"`).join(" OR ");
    // Unfiltered (every prompt build): rank inside FTS5 and join only the top rows; a category filter must join first.
    const rows = (
      opts.category
        ? this.db
            .query(
              `SELECT m.id, m.text, m.category, f.rank FROM memories_fts f JOIN memories m ON m.id = f.id
               WHERE memories_fts MATCH ? AND m.category = ? ORDER BY f.rank LIMIT ?`,
            )
            .all(match, opts.category, opts.limit)
        : this.db
            .query(
              `SELECT m.id, m.text, m.category, f.rank FROM (SELECT id, rank FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rank LIMIT ?) f
               JOIN memories m ON m.id = f.id ORDER BY f.rank`,
            )
            .all(match, opts.limit)
    ) as { id: string; text: string; category: Category; rank: number }[];
    // bm25 is negative, lower is better; scale so the best hit is 1.
    const best = rows[0]?.rank ?? -1;
    return rows.map((r) => ({ id: r.id, text: r.text, category: r.category, score: best < 0 ? r.rank / best : 1 }));
  }
}
