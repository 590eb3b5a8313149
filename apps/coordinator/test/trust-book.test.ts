import { describe, expect, test } from 'vitest';
import { DEFAULT_TRUST, TrustBook, type TrustPolicy } from '../src/trust/trust-book.ts';

const policy: TrustPolicy = { ...DEFAULT_TRUST, probation: 3, auditRate: 0.25, spotCheckRate: 0.5 };

/** A random source that returns `values` in order and throws if drawn once more: tests see exactly which calls draw. */
function sequence(...values: number[]) {
  let drawn = 0;
  const next = () => {
    if (drawn >= values.length) throw new Error(`random drawn ${drawn + 1} times, expected at most ${values.length}`);
    return values[drawn++];
  };
  return { next, drawn: () => drawn };
}

/** A book whose random source must never be drawn. */
function bookWithoutDraws(banned: string[] = []): TrustBook {
  return new TrustBook(policy, banned, sequence().next);
}

function passProbation(book: TrustBook, identity: string): void {
  for (let i = 0; i < book.policy.probation; i++) book.passed(identity, null);
}

describe('TrustBook: audits', () => {
  test('behavior: a new identity is audited on every task, without drawing at random', () => {
    const book = bookWithoutDraws();
    expect(book.level('0xnew')).toBe('new');
    for (let i = 0; i < 50; i++) expect(book.shouldAudit('0xnew')).toBe(true);
    expect(book.level('0xnew')).toBe('new');
  });

  test('behavior: an identity stays on probation, audited every task, until it has passed `probation` audits', () => {
    const book = bookWithoutDraws();
    for (let i = 1; i < policy.probation; i++) {
      book.passed('0xa', i);
      expect(book.level('0xa')).toBe('new');
      expect(book.shouldAudit('0xa')).toBe(true);
    }
    book.passed('0xa', null);
    expect(book.level('0xa')).toBe('trusted');
  });

  test('behavior: with the default policy, 7 passed audits are not enough and 8 are', () => {
    const book = new TrustBook(DEFAULT_TRUST);
    for (let i = 1; i < DEFAULT_TRUST.probation; i++) book.passed('0xa', null);
    expect(book.level('0xa')).toBe('new');
    book.passed('0xa', null);
    expect(book.level('0xa')).toBe('trusted');
    expect(DEFAULT_TRUST.probation).toBe(8);
  });

  test('behavior: a trusted identity is audited exactly when the random draw is below auditRate, one draw per call', () => {
    const random = sequence(0.1, 0.25, 0.9, 0.2499, 0, 0.5);
    const book = new TrustBook(policy, [], random.next);
    passProbation(book, '0xa');
    expect(random.drawn()).toBe(0);
    const audited = Array.from({ length: 6 }, () => book.shouldAudit('0xa'));
    expect(audited).toEqual([true, false, false, true, true, false]);
    expect(random.drawn()).toBe(6);
  });

  test('behavior: only trusted identities draw; a new one beside them does not consume the sequence', () => {
    const random = sequence(0.3, 0.2);
    const book = new TrustBook(policy, [], random.next);
    passProbation(book, '0xtrusted');
    expect(book.shouldAudit('0xnew')).toBe(true);
    expect(book.shouldAudit('0xtrusted')).toBe(false);
    expect(book.shouldAudit('0xnew')).toBe(true);
    expect(book.shouldAudit('0xtrusted')).toBe(true);
    expect(random.drawn()).toBe(2);
  });

  test("behavior: passing audits as an auditor (round null) counts toward probation like having one's own results confirmed", () => {
    const book = bookWithoutDraws();
    book.passed('0xa', null);
    book.passed('0xa', 4);
    expect(book.level('0xa')).toBe('new');
    book.passed('0xa', null);
    expect(book.level('0xa')).toBe('trusted');
  });

  test('behavior: identities are independent: one passing audits does not make another trusted', () => {
    const book = bookWithoutDraws();
    passProbation(book, '0xa');
    expect(book.level('0xa')).toBe('trusted');
    expect(book.level('0xb')).toBe('new');
    expect(book.level('connection:v1')).toBe('new');
    expect(book.shouldAudit('0xb')).toBe(true);
  });

  test('behavior: suspect() puts a trusted identity back to audits on every task, and probation starts over', () => {
    const book = bookWithoutDraws();
    passProbation(book, '0xa');
    book.suspect('0xa');
    expect(book.level('0xa')).toBe('suspected');
    for (let i = 0; i < 20; i++) expect(book.shouldAudit('0xa')).toBe(true);
    for (let i = 1; i < policy.probation; i++) book.passed('0xa', null);
    expect(book.level('0xa')).toBe('suspected');
    book.passed('0xa', null);
    expect(book.level('0xa')).toBe('trusted');
  });

  test('behavior: suspect() on an identity part-way through probation discards its passes', () => {
    const book = bookWithoutDraws();
    for (let i = 1; i < policy.probation; i++) book.passed('0xa', null);
    book.suspect('0xa');
    book.passed('0xa', null);
    expect(book.level('0xa')).toBe('suspected');
    expect(book.shouldAudit('0xa')).toBe(true);
  });

  test('behavior: an agreement is spot-checked exactly when the random draw is below spotCheckRate', () => {
    const random = sequence(0.49, 0.5, 0, 0.99);
    const book = new TrustBook(policy, [], random.next);
    expect([book.shouldSpotCheck(), book.shouldSpotCheck(), book.shouldSpotCheck(), book.shouldSpotCheck()]).toEqual([true, false, true, false]);
    expect(random.drawn()).toBe(4);
  });
});

describe('TrustBook: unverified results and bans', () => {
  test('behavior: ban() returns the earliest round holding a result no audit confirmed', () => {
    const book = bookWithoutDraws();
    for (const round of [5, 3, 7]) book.applied('0xa', round);
    expect(book.ban('0xa')).toBe(3);
    expect(book.isBanned('0xa')).toBe(true);
    expect(book.level('0xa')).toBe('banned');
  });

  test('behavior: ban() returns null when every applied result was confirmed, or none was applied', () => {
    const book = bookWithoutDraws();
    book.applied('0xa', 4);
    book.applied('0xa', 6);
    book.passed('0xa', 6);
    book.passed('0xa', 4);
    expect(book.ban('0xa')).toBeNull();
    expect(book.ban('0xnever-seen')).toBeNull();
    expect(book.isBanned('0xnever-seen')).toBe(true);
  });

  test('behavior: passed(identity, round) confirms one result of that round, not all of them', () => {
    const book = bookWithoutDraws();
    for (const round of [3, 3, 5]) book.applied('0xa', round);
    book.passed('0xa', 3);
    expect(book.ban('0xa')).toBe(3); // one result of round 3 is still unconfirmed

    for (const round of [3, 3, 5]) book.applied('0xb', round);
    book.passed('0xb', 3);
    book.passed('0xb', 3);
    expect(book.ban('0xb')).toBe(5);
  });

  test("behavior: passed() for another round, or as an auditor, confirms nothing of this identity's results", () => {
    const book = bookWithoutDraws();
    book.applied('0xa', 2);
    book.passed('0xa', 3);
    book.passed('0xa', null);
    expect(book.ban('0xa')).toBe(2);
  });

  test('behavior: a confirmation for a round with nothing unverified does not bank credit against a later result', () => {
    const book = bookWithoutDraws();
    book.passed('0xa', 4);
    book.applied('0xa', 4);
    expect(book.ban('0xa')).toBe(4);
  });

  test('behavior: unverified results are counted per identity', () => {
    const book = bookWithoutDraws();
    book.applied('0xa', 2);
    book.applied('0xb', 1);
    book.passed('0xb', 1);
    expect(book.ban('0xb')).toBeNull();
    expect(book.isBanned('0xa')).toBe(false);
    expect(book.ban('0xa')).toBe(2);
  });

  test("behavior: forgetFrom(round) drops every identity's unverified results of that round and later ones", () => {
    const book = bookWithoutDraws();
    for (const round of [2, 4, 6]) book.applied('0xa', round);
    book.applied('0xb', 5);
    book.applied('0xc', 4);
    book.applied('0xc', 3);
    book.forgetFrom(4);
    expect(book.ban('0xa')).toBe(2);
    expect(book.ban('0xb')).toBeNull();
    expect(book.ban('0xc')).toBe(3);

    const other = bookWithoutDraws();
    other.applied('0xd', 4);
    other.applied('0xd', 9);
    other.forgetFrom(4);
    expect(other.ban('0xd')).toBeNull();
  });

  test('behavior: forgetFrom() leaves levels alone', () => {
    const book = bookWithoutDraws();
    passProbation(book, '0xa');
    book.suspect('0xb');
    book.forgetFrom(0);
    expect(book.level('0xa')).toBe('trusted');
    expect(book.level('0xb')).toBe('suspected');
  });

  test('behavior: a ban clears what it returned: a second ban has nothing left to undo', () => {
    const book = bookWithoutDraws();
    book.applied('0xa', 3);
    expect(book.ban('0xa')).toBe(3);
    expect(book.ban('0xa')).toBeNull();
    expect(book.isBanned('0xa')).toBe(true);
  });

  test('behavior: identities banned in the constructor are banned; others are new', () => {
    const book = bookWithoutDraws(['0xcheat', 'connection:v9']);
    expect(book.isBanned('0xcheat')).toBe(true);
    expect(book.level('0xcheat')).toBe('banned');
    expect(book.isBanned('connection:v9')).toBe(true);
    expect(book.isBanned('0xhonest')).toBe(false);
    expect(book.level('0xhonest')).toBe('new');
  });

  test('behavior: a banned identity stays banned after any number of passed audits, and after suspect()', () => {
    const book = bookWithoutDraws(['0xcheat']);
    book.applied('0xcaught', 1);
    book.ban('0xcaught');
    for (const identity of ['0xcheat', '0xcaught']) {
      for (let i = 0; i < policy.probation * 3; i++) book.passed(identity, i % 2 ? null : i);
      book.suspect(identity);
      expect(book.level(identity)).toBe('banned');
      expect(book.isBanned(identity)).toBe(true);
    }
  });

  test('behavior: a trusted identity can be banned', () => {
    const book = bookWithoutDraws();
    passProbation(book, '0xa');
    book.applied('0xa', 8);
    expect(book.ban('0xa')).toBe(8);
    expect(book.level('0xa')).toBe('banned');
  });
});
