/**
 * The schedules' next due times in a binary min-heap keyed by schedule id:
 * one timer for the earliest, whatever the number of schedules. A schedule
 * moved or removed leaves its old entry behind, recognised as stale (its time
 * no longer matches `current`) and dropped when it reaches the top.
 */
export class DueHeap {
  private items: { at: number; id: string }[] = [];
  private current = new Map<string, number>();

  get size(): number {
    return this.current.size;
  }

  set(id: string, at: number | null | undefined): void {
    if (at === null || at === undefined) {
      this.current.delete(id);
      return;
    }
    if (this.current.get(id) === at) return;
    this.current.set(id, at);
    this.push({ at, id });
  }

  delete(id: string): void {
    this.current.delete(id);
  }

  at(id: string): number | undefined {
    return this.current.get(id);
  }

  /** The earliest live entry, without removing it. */
  peek(): { at: number; id: string } | undefined {
    this.dropStale();
    return this.items[0];
  }

  /** Removes and returns every live entry due at or before `now`, earliest first. */
  popDue(now: number): { at: number; id: string }[] {
    const out: { at: number; id: string }[] = [];
    for (;;) {
      this.dropStale();
      const top = this.items[0];
      if (!top || top.at > now) return out;
      this.pop();
      this.current.delete(top.id);
      out.push(top);
    }
  }

  private dropStale(): void {
    while (this.items.length && this.current.get(this.items[0]!.id) !== this.items[0]!.at) this.pop();
    // Stale entries deep in the heap are rebuilt away once they outnumber the live ones.
    if (this.items.length > 64 && this.items.length > 2 * this.current.size) this.rebuild();
  }

  private rebuild(): void {
    this.items = [...this.current].map(([id, at]) => ({ at, id }));
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private push(e: { at: number; id: string }): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  private pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (!a.length) return;
    a[0] = last;
    this.down(0);
  }

  private down(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) return;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
