/**
 * The two leases of a handoff, in the bus's KV bucket (KV_BUCKETS.leases:
 * SQLite in edge mode, JetStream KV in cluster mode): `brain.handoff` (one
 * handoff at a time: `create` has one winner) and `brain.active` (which core
 * holds the data and the traffic; passed on with compare-and-set).
 */
import { type Bus, type Kv, KvConflictError } from "../bus/types.ts";
import { KV_BUCKETS } from "../protocol/queues.ts";

const ACTIVE = "brain.active";
const HANDOFF = "brain.handoff";

export interface ActiveLease {
  instance: string;
  version: string;
  since: number;
}

export interface HandoffLease {
  /** The new core's instance id. */
  handoff: string;
  version: string;
  since: number;
  /** Past this, the handoff is stale (its new core died) and another may take the lease. */
  until: number;
}

/** Another handoff holds the lease and is not stale. */
export class HandoffBusyError extends Error {
  override name = "HandoffBusyError";
  constructor(readonly held: HandoffLease) {
    super(`another upgrade is under way (core ${held.handoff}, version ${held.version}, since ${new Date(held.since).toISOString()})`);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function parse<T>(value: Uint8Array | undefined, keys: (keyof T)[]): T | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(dec.decode(value)) as T;
    return v && typeof v === "object" && keys.every((k) => k in v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export class Leases {
  private constructor(private kv: Kv) {}

  static async open(bus: Bus): Promise<Leases> {
    return new Leases(await bus.kv(KV_BUCKETS.leases));
  }

  async active(): Promise<{ lease?: ActiveLease; revision?: number }> {
    const e = await this.kv.get(ACTIVE);
    const lease = parse<ActiveLease>(e?.value, ["instance", "version", "since"]);
    return lease && e ? { lease, revision: e.revision } : {};
  }

  /**
   * Names `lease.instance` the active core. `revision` is what the caller read
   * (undefined: nothing was there); a conflict means another core moved first.
   */
  async claimActive(lease: ActiveLease, revision: number | undefined): Promise<void> {
    const value = enc.encode(JSON.stringify(lease));
    if (revision === undefined) await this.kv.create(ACTIVE, value);
    else await this.kv.update(ACTIVE, value, revision);
  }

  /** The active lease for a core that starts with nobody else running: whatever is there was left by a core that stopped. */
  async takeActive(lease: ActiveLease): Promise<void> {
    await this.kv.put(ACTIVE, enc.encode(JSON.stringify(lease)));
  }

  async handoff(): Promise<HandoffLease | undefined> {
    return parse<HandoffLease>((await this.kv.get(HANDOFF))?.value, ["handoff", "version", "since", "until"]);
  }

  /** Takes the handoff lease; a stale one (its core died) is taken over. Throws HandoffBusyError when a live handoff holds it. */
  async beginHandoff(lease: HandoffLease, now = Date.now()): Promise<void> {
    const value = enc.encode(JSON.stringify(lease));
    try {
      await this.kv.create(HANDOFF, value);
      return;
    } catch (err) {
      if (!(err instanceof KvConflictError)) throw err;
    }
    const e = await this.kv.get(HANDOFF);
    const held = parse<HandoffLease>(e?.value, ["handoff", "version", "since", "until"]);
    if (held && held.until > now && held.handoff !== lease.handoff) throw new HandoffBusyError(held);
    if (!e) return this.beginHandoff(lease, now);
    await this.kv.update(HANDOFF, value, e.revision);
  }

  /** Gives the handoff lease back, if this handoff still holds it. */
  async endHandoff(handoff: string): Promise<void> {
    const held = await this.handoff();
    if (held?.handoff === handoff) await this.kv.delete(HANDOFF);
  }
}
