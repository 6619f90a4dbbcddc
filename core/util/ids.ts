/** Time-ordered ids (UUIDv7) sort by creation, which keeps SQLite indexes append-only. */
export function newId(): string {
  return Bun.randomUUIDv7();
}
