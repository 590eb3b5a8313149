import { describe, expect, test } from 'vitest';
import { getAddress } from 'viem';
import type { Address } from 'viem';
import { ACC_PRECISION, EpochInputError, MAX_TOTAL_SHARES, closeEpoch, createEpochState, entitlementOf, entitlements, undistributed } from '../src/index.ts';
import type { EpochState } from '../src/index.ts';

const A = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const B = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const C = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

const close = (state: EpochState, revenue: bigint, shares: Record<string, bigint> = {}) => closeEpoch(state, { revenue, newShares: new Map(Object.entries(shares)) });

/** splitmix64: a small seeded PRNG, so a failing scenario can be replayed from its seed. */
function prng(seed: number) {
  const MASK = (1n << 64n) - 1n;
  let s = BigInt(seed) & MASK;
  const next = () => {
    s = (s + 0x9e3779b97f4a7c15n) & MASK;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  };
  const below = (n: bigint) => ((next() << 64n) | next()) % n;
  const int = (lo: number, hi: number) => lo + Number(below(BigInt(hi - lo + 1)));
  const chance = (p: number) => Number(next() >> 11n) / 2 ** 53 < p;
  /** 0..max, log-uniform in magnitude so tiny amounts (where rounding bites) are as common as large ones. */
  const amount = (maxDigits: number) => below(10n ** BigInt(int(0, maxDigits)) + 1n);
  const address = () =>
    getAddress(
      `0x${[next(), next(), next()]
        .map((w) => w.toString(16).padStart(16, '0'))
        .join('')
        .slice(0, 40)}`,
    );
  return { int, chance, amount, address };
}

const gcd = (a: bigint, b: bigint): bigint => {
  while (b) [a, b] = [b, a % b];
  return a;
};

/**
 * The reference: each holder's exact entitlement as N_i / L in rationals, where L is the lcm of the
 * share totals seen so far (one common denominator keeps this free of per-holder gcds).
 */
class ExactReference {
  L = 1n;
  carried = 0n;
  totalShares = 0n;
  /** Σ over distributing epochs of the share total: each epoch's accumulator remainder is below its total. */
  totalsSeen = 0n;
  readonly shares = new Map<Address, bigint>();
  readonly numerator = new Map<Address, bigint>();
  /** Σ over distributing epochs of the holder's shares at their opening: the slack of the lower bound. */
  readonly sharesSeen = new Map<Address, bigint>();

  close(revenue: bigint, newShares: Map<Address, bigint>) {
    const pool = revenue + this.carried;
    if (this.totalShares === 0n) {
      this.carried = pool;
    } else {
      const L = (this.L / gcd(this.L, this.totalShares)) * this.totalShares;
      const scale = L / this.L;
      const perShare = (pool * L) / this.totalShares; // exact: totalShares divides L
      for (const [a, s] of this.shares) {
        this.numerator.set(a, (this.numerator.get(a) ?? 0n) * scale + s * perShare);
        this.sharesSeen.set(a, (this.sharesSeen.get(a) ?? 0n) + s);
      }
      for (const [a, n] of this.numerator) if (!this.shares.has(a)) this.numerator.set(a, n * scale);
      this.L = L;
      this.carried = 0n;
      this.totalsSeen += this.totalShares;
    }
    for (const [a, s] of newShares) {
      if (s === 0n) continue;
      this.shares.set(a, (this.shares.get(a) ?? 0n) + s);
      this.totalShares += s;
    }
  }
}

describe('entitlements', () => {
  test('behavior: shares accrued in an epoch earn from the next epoch on', () => {
    let s = close(createEpochState(), 1000n, { [A]: 100n }); // opens with no shares: 1000 wei carried
    expect([entitlementOf(s, A), s.carried]).toEqual([0n, 1000n]);
    s = close(s, 500n, { [B]: 300n }); // B's shares do not earn in the epoch they are accrued
    expect([entitlementOf(s, A), entitlementOf(s, B), s.carried]).toEqual([1500n, 0n, 0n]);
    s = close(s, 400n);
    expect(entitlements(s)).toEqual([
      { address: B, shares: 300n, cumulative: 300n },
      { address: A, shares: 100n, cumulative: 1600n },
    ]);
    expect(undistributed(s)).toBe(0n);
  });

  test('behavior: epochs that open with no shares carry their whole revenue forward', () => {
    let s = createEpochState();
    for (const revenue of [7n, 0n, 11n]) s = close(s, revenue);
    expect([s.epoch, s.carried, s.totalRevenue, undistributed(s)]).toEqual([3, 18n, 18n, 18n]);
    s = close(close(s, 2n, { [A]: 1n, [B]: 2n }), 0n);
    expect([entitlementOf(s, A), entitlementOf(s, B), s.carried]).toEqual([6n, 13n, 0n]); // 20·1/3, 20·2/3 rounded down
  });

  test("behavior: a holder's fraction of a wei is carried into its later epochs, not dropped", () => {
    let s = close(createEpochState(), 0n, { [A]: 1n, [B]: 3n });
    const seen: bigint[][] = [];
    for (let e = 0; e < 4; e++) {
      s = close(s, 1n); // 1/4 and 3/4 wei per epoch
      seen.push([entitlementOf(s, A), entitlementOf(s, B)]);
    }
    expect(seen).toEqual([
      [0n, 0n],
      [0n, 1n],
      [0n, 2n],
      [1n, 3n],
    ]);
    expect(undistributed(s)).toBe(0n);
  });

  test('behavior: a per-share amount that 10^36 cannot represent leaves each holder up to one wei under', () => {
    // 2 wei over 6 shares is 1/3 wei per share: the accumulator holds ⌊10^36/3⌋, so A's exact 1 wei becomes 0.999…
    const s = close(close(createEpochState(), 0n, { [A]: 3n, [B]: 3n }), 2n);
    expect([entitlementOf(s, A), entitlementOf(s, B), undistributed(s)]).toEqual([0n, 0n, 2n]);
    expect(s.remainder).toBe(2n); // 2·10^36 − 6·⌊2·10^36/6⌋, ACC-scaled: kept, not redistributed
  });

  test('behavior: closeEpoch leaves its input state unchanged', () => {
    const s1 = close(close(createEpochState(), 0n, { [A]: 5n }), 10n, { [B]: 5n });
    const snapshot = { ...s1, holders: new Map(s1.holders) };
    close(s1, 99n, { [A]: 1n, [C]: 3n });
    expect(s1).toEqual(snapshot);
  });

  test('behavior: lower- and upper-case spellings name the same checksummed holder; zero shares make no holder', () => {
    let s = close(createEpochState(), 0n, { [A.toLowerCase()]: 2n, [C]: 0n });
    s = close(s, 0n, { [`0x${A.slice(2).toUpperCase()}`]: 3n });
    expect([...s.holders.keys()]).toEqual([A]);
    expect(s.holders.get(A)?.shares).toBe(5n);
    expect(entitlementOf(s, C)).toBe(0n);
  });

  test('error: bad addresses, negative or non-bigint amounts and duplicate spellings are refused naming the value', () => {
    const s = createEpochState();
    expect(() => close(s, 0n, { '0x1234': 1n })).toThrow(/'0x1234' is not an address/);
    const badChecksum = `0xF${A.slice(3)}`; // one letter's case flipped: a typo EIP-55 catches
    expect(() => close(s, 0n, { [badChecksum]: 1n })).toThrow(new RegExp(`'${badChecksum}' is not an address`));
    expect(() => close(s, 0n, { [A]: -4n })).toThrow(`newShares of epoch 1 for ${A} is -4 FLOPs; expected ≥ 0`);
    expect(() => close(s, -1n)).toThrow('revenue of epoch 1 is -1 wei; expected ≥ 0');
    expect(() => close(s, 5 as unknown as bigint)).toThrow('revenue of epoch 1 is number 5; expected a bigint in wei');
    expect(() => close(s, 0n, { [A]: 1n, [A.toLowerCase()]: 2n })).toThrow(/lists 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 twice/);
    expect(() => close(s, 0n, { [A]: MAX_TOTAL_SHARES, [B]: 1n })).toThrow(/above MAX_TOTAL_SHARES/);
    expect(() => close(s, 0n, { [A]: 1n })).not.toThrow();
    expect(() => close(s, 0n, { [A]: -1n })).toThrow(EpochInputError);
  });

  test('behavior: over 400 seeded random scenarios, entitlements stay within the proven bounds of the exact split', () => {
    let checks = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const r = prng(seed);
      const holders = Array.from({ length: r.int(1, 50) }, () => r.address());
      const idle = new Set(holders.filter(() => r.chance(0.1))); // never given shares
      const accrueChance = 0.1 + (0.8 * Number(r.int(0, 100))) / 100;
      const epochs = r.int(1, 30);
      const ref = new ExactReference();
      let state = createEpochState();
      let deposited = 0n;
      let previous = new Map<Address, bigint>();
      for (let e = 1; e <= epochs; e++) {
        const newShares = new Map<Address, bigint>();
        for (const a of holders) if (!idle.has(a) && r.chance(accrueChance)) newShares.set(a, r.amount(15));
        const revenue = r.chance(0.2) ? 0n : r.amount(21);
        deposited += revenue;
        const input = new Map([...newShares].map(([a, s]) => [r.chance(0.3) ? a.toLowerCase() : a, s]));
        state = closeEpoch(state, { newShares: input, revenue });
        ref.close(revenue, newShares);

        const owed = new Map(entitlements(state).map((x) => [x.address, x.cumulative]));
        const where = `seed ${seed}, epoch ${e}`;
        for (const a of holders) {
          const ent = owed.get(a) ?? 0n;
          const N = ref.numerator.get(a) ?? 0n;
          // ent ≤ exact: every floor rounds down
          expect(ent * ref.L <= N, `${where}: ${a} gets ${ent} > exact ${N}/${ref.L}`).toBe(true);
          // ent > exact − 1 − Σ_e shares_e/ACC (each epoch's ⌊pool·ACC/S⌋ loses < 1 per FLOP, the final floor < 1 wei)
          const slack = ref.sharesSeen.get(a) ?? 0n;
          expect((ent * ACC_PRECISION + ACC_PRECISION + slack) * ref.L > N * ACC_PRECISION, `${where}: ${a} gets ${ent}, below the bound`).toBe(true);
          expect((ent + BigInt(e) + 1n) * ref.L > N, `${where}: ${a} gets ${ent} ≤ exact − (epochs + 1)`).toBe(true);
          expect(ent >= (previous.get(a) ?? 0n), `${where}: ${a} decreased`).toBe(true);
          if (idle.has(a)) expect(state.holders.has(a) || ent !== 0n, `${where}: idle ${a} holds something`).toBe(false);
          checks++;
        }
        previous = owed;

        const entitled = [...owed.values()].reduce((x, y) => x + y, 0n);
        const dust = deposited - entitled - state.carried;
        const earning = BigInt(owed.size);
        expect(entitled <= deposited, where).toBe(true);
        expect(state.carried, where).toBe(ref.carried);
        expect(dust >= 0n && dust < earning + BigInt(e), `${where}: dust ${dust} with ${earning} holders`).toBe(true);
        // with Σ shares ≤ 1.5e18 ≪ ACC the accumulator's remainder is under a wei, so the dust is at most one per holder
        expect(dust <= earning, `${where}: dust ${dust} > ${earning} holders`).toBe(true);
        // conservation, exactly: ACC·Σ revenue = Σ scaled earnings + remainder + ACC·carried
        let scaled = state.remainder + state.carried * ACC_PRECISION;
        for (const h of state.holders.values()) scaled += h.accrued + h.shares * (state.accPerShare - h.checkpoint);
        expect(scaled, where).toBe(deposited * ACC_PRECISION);
        expect(state.remainder >= 0n && state.remainder < ref.totalsSeen + 1n, `${where}: remainder ${state.remainder}`).toBe(true);
        // the reference itself: exact shares plus carried revenue add up to the deposits
        expect(
          [...ref.numerator.values()].reduce((x, y) => x + y, 0n),
          where,
        ).toBe((deposited - ref.carried) * ref.L);
      }
    }
    expect(checks).toBeGreaterThan(50_000);
  });
});
