import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import type { ListedTool } from "./mcp/tools.ts";
import { skills } from "./skills.sql.ts";
import { type SkillSpec, specHash } from "./spec.ts";

export type SkillRow = typeof skills.$inferSelect;
export type SkillSource = SkillRow["source"];

/** The skills table; one name per skill. */
export class SkillStore {
  constructor(private db: Db) {}

  all(): SkillRow[] {
    return this.db.select().from(skills).orderBy(asc(skills.tier), asc(skills.name)).all();
  }

  get(id: string): SkillRow | undefined {
    return this.db.select().from(skills).where(eq(skills.id, id)).get();
  }

  byName(name: string): SkillRow | undefined {
    return this.db.select().from(skills).where(eq(skills.name, name)).get();
  }

  insert(row: { id: string; spec: SkillSpec; source: SkillSource; approvedBy?: string; now: number }): SkillRow {
    const hash = specHash(row.spec);
    const approved = row.approvedBy !== undefined;
    this.db
      .insert(skills)
      .values({
        id: row.id,
        name: row.spec.name,
        tier: row.spec.tier,
        spec: row.spec,
        hash,
        approvedHash: approved ? hash : null,
        approvedBy: row.approvedBy ?? null,
        approvedAt: approved ? row.now : null,
        source: row.source,
        createdAt: row.now,
        updatedAt: row.now,
      })
      .run();
    return this.get(row.id)!;
  }

  /** A new spec: approved with it only when `approvedBy` says who. */
  replaceSpec(id: string, spec: SkillSpec, now: number, approvedBy?: string): void {
    const hash = specHash(spec);
    this.db
      .update(skills)
      .set({ spec, hash, updatedAt: now, ...(approvedBy !== undefined ? { approvedHash: hash, approvedBy, approvedAt: now } : {}) })
      .where(eq(skills.id, id))
      .run();
  }

  approve(id: string, hash: string, by: string, now: number): void {
    this.db.update(skills).set({ approvedHash: hash, approvedBy: by, approvedAt: now, updatedAt: now }).where(eq(skills.id, id)).run();
  }

  setEnabled(id: string, enabled: boolean, now: number): void {
    this.db.update(skills).set({ enabled, updatedAt: now }).where(eq(skills.id, id)).run();
  }

  setTools(id: string, tools: ListedTool[]): void {
    this.db.update(skills).set({ tools }).where(eq(skills.id, id)).run();
  }

  remove(id: string): void {
    this.db.delete(skills).where(eq(skills.id, id)).run();
  }
}

/** Runs only while what it would run is what the owner approved. */
export const isApproved = (row: SkillRow) => row.approvedHash !== null && row.approvedHash === specHash(row.spec as SkillSpec);
