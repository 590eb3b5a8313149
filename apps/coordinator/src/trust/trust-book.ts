/** How the coordinator checks volunteers it cannot trust by default (docs/trust.md has the arithmetic). */
export interface TrustPolicy {
  /** Audits an identity must pass, every task audited, before it is trusted. */
  probation: number;
  /** Fraction of a trusted identity's results that are audited, chosen at random. */
  auditRate: number;
  /** Fraction of audits where author and auditor agree that the coordinator re-executes too: two colluders who audit each other are caught this way. */
  spotCheckRate: number;
  /** Largest relative error between two results of one task that still agrees. */
  tolerance: number;
  /** Rounds a work receipt waits before it vests (may enter an epoch); also how far back a cheat can be undone. */
  holdingRounds: number;
  /** How long an audit waits for another volunteer of the shard before the coordinator re-executes the task itself (ms). */
  auditWaitMs: number;
}

export const DEFAULT_TRUST: TrustPolicy = {
  probation: 8,
  auditRate: 0.1,
  spotCheckRate: 0.05,
  tolerance: 1e-3,
  holdingRounds: 10,
  auditWaitMs: 5_000,
};

export type TrustLevel = 'new' | 'trusted' | 'suspected' | 'banned';

interface IdentityRecord {
  level: TrustLevel;
  passed: number;
  /** Rounds with results of this identity applied but not confirmed by an audit, and how many. */
  unverified: Map<number, number>;
}

/**
 * What the coordinator knows of each identity (its wallet address if signed in, else its
 * connection): how far it is trusted, which of its applied results no audit has confirmed, and
 * whether it is banned. Pure; the random source is injected so tests can fix it.
 */
export class TrustBook {
  private readonly records = new Map<string, IdentityRecord>();

  constructor(
    readonly policy: TrustPolicy,
    banned: Iterable<string> = [],
    private readonly random: () => number = Math.random,
  ) {
    for (const b of banned) this.record(b).level = 'banned';
  }

  level(identity: string): TrustLevel {
    return this.records.get(identity)?.level ?? 'new';
  }

  isBanned(identity: string): boolean {
    return this.level(identity) === 'banned';
  }

  /** Whether the next result of this identity is audited: all of a new or suspected one's, a random fraction of a trusted one's. */
  shouldAudit(identity: string): boolean {
    return this.level(identity) !== 'trusted' || this.random() < this.policy.auditRate;
  }

  /** Whether an agreement between author and auditor is checked by the coordinator as well. */
  shouldSpotCheck(): boolean {
    return this.random() < this.policy.spotCheckRate;
  }

  /** A result of this identity was applied in `round`; it counts as unverified until an audit confirms it. */
  applied(identity: string, round: number): void {
    const u = this.record(identity).unverified;
    u.set(round, (u.get(round) ?? 0) + 1);
  }

  /** An audit agreed with a result of this identity applied in `round` (or with its re-execution, when `round` is null). */
  passed(identity: string, round: number | null): void {
    const r = this.record(identity);
    if (round !== null) {
      const n = (r.unverified.get(round) ?? 0) - 1;
      if (n > 0) r.unverified.set(round, n);
      else r.unverified.delete(round);
    }
    if (r.level === 'banned') return;
    r.passed += 1;
    if (r.passed >= this.policy.probation) r.level = 'trusted';
  }

  /** A malformed result: audited on every task again until it passes probation anew. */
  suspect(identity: string): void {
    const r = this.record(identity);
    if (r.level === 'banned') return;
    r.level = 'suspected';
    r.passed = 0;
  }

  /** Caught cheating: banned; returns the earliest round holding one of its unverified results (what must be undone), or null. */
  ban(identity: string): number | null {
    const r = this.record(identity);
    r.level = 'banned';
    const first = r.unverified.size ? Math.min(...r.unverified.keys()) : null;
    r.unverified.clear();
    return first;
  }

  /** Rounds from `round` on are trained again: nothing applied in them stands any more. */
  forgetFrom(round: number): void {
    for (const r of this.records.values()) for (const k of [...r.unverified.keys()]) if (k >= round) r.unverified.delete(k);
  }

  private record(identity: string): IdentityRecord {
    const known = this.records.get(identity);
    if (known) return known;
    const r: IdentityRecord = { level: 'new', passed: 0, unverified: new Map() };
    this.records.set(identity, r);
    return r;
  }
}
