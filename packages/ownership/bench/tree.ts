/**
 * npm run bench:ownership [-- --sizes 1000,100000] [--out bench-results/ownership-tree.json]
 *
 * Time to build an epoch tree (@openzeppelin/merkle-tree, through buildEpochTree) and every holder's
 * proof, to dump it and to load it back (which rebuilds it to check the root), against two peers in
 * the same run: hashing the same leaves with viem alone (encodeAbiParameters + 2× keccak256 each), and
 * the whole tree with viem alone (those leaves plus N − 1 sorted-pair node hashes; its root must
 * equal the tree's). Prints a table and writes JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { concat, encodeAbiParameters, getAddress, keccak256, numberToHex } from 'viem';
import type { Address, Hex } from 'viem';
import { buildEpochTree, loadEpochTree } from '../src/index.ts';
import type { Entitlement } from '../src/index.ts';

const { values: flags } = parseArgs({ options: { sizes: { type: 'string' }, out: { type: 'string' } } });
const sizes = (flags.sizes ?? '1000,100000').split(',').map(Number);
const out = flags.out ?? 'bench-results/ownership-tree.json';
/** Sizes up to this many holders are timed REPS times and the median kept; larger ones once. */
const REPEAT_BELOW = 10_000;
const REPS = 5;
const CHAIN_ID = 31337n;
const DISTRIBUTOR: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const LEAF_TYPES = [{ type: 'uint256' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }, { type: 'uint256' }] as const;

function makeHolders(n: number): Entitlement[] {
  return Array.from({ length: n }, (_, i) => ({
    address: getAddress(keccak256(numberToHex(i, { size: 32 })).slice(0, 42)),
    shares: BigInt(i + 1) * 1_000_003n,
    cumulative: BigInt(i) * 10n ** 12n + 7n,
  }));
}

const leafHashes = (holders: Entitlement[]): Hex[] => holders.map((h) => keccak256(keccak256(encodeAbiParameters(LEAF_TYPES, [CHAIN_ID, DISTRIBUTOR, h.address, h.shares, h.cumulative]))));

/** OpenZeppelin's layout: leaves sorted, stored at the end of a heap-ordered array, parents hash sorted pairs. */
function viemRoot(leaves: Hex[]): Hex {
  const sorted = [...leaves].sort();
  const tree: Hex[] = new Array(2 * sorted.length - 1);
  sorted.forEach((leaf, i) => (tree[tree.length - 1 - i] = leaf));
  for (let i = tree.length - 1 - sorted.length; i >= 0; i--) {
    const [a, b] = [tree[2 * i + 1], tree[2 * i + 2]];
    tree[i] = keccak256(a < b ? concat([a, b]) : concat([b, a]));
  }
  return tree[0];
}

function time<T>(reps: number, run: () => T): { ms: number; result: T } {
  const samples: number[] = [];
  let result!: T;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    result = run();
    samples.push(performance.now() - t0);
  }
  return { ms: samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)], result };
}

interface Row {
  holders: number;
  buildMs: number;
  proofsMs: number;
  treeMs: number;
  dumpMs: number;
  loadMs: number;
  dumpBytes: number;
  viemLeavesMs: number;
  viemTreeMs: number;
  treeOverLeaves: number;
  proofLength: number;
}

const rows: Row[] = [];
for (const n of sizes) {
  const holders = makeHolders(n);
  const reps = n <= REPEAT_BELOW ? REPS : 1;
  const build = time(reps, () => buildEpochTree({ chainId: CHAIN_ID, distributor: DISTRIBUTOR, holders }));
  const tree = build.result;
  const proofs = time(reps, () => holders.map((h) => tree.claim(h.address)!.proof));
  const dump = time(reps, () => tree.dump());
  const load = time(reps, () => loadEpochTree(dump.result, { root: tree.root }));
  const leaves = time(reps, () => leafHashes(holders));
  const viem = time(reps, () => viemRoot(leafHashes(holders)));
  if (viem.result !== tree.root) throw new Error(`viem-only root ${viem.result} differs from the epoch tree's ${tree.root} for ${n} holders`);
  const treeMs = build.ms + proofs.ms;
  rows.push({
    holders: n,
    buildMs: build.ms,
    proofsMs: proofs.ms,
    treeMs,
    dumpMs: dump.ms,
    loadMs: load.ms,
    dumpBytes: Buffer.byteLength(dump.result),
    viemLeavesMs: leaves.ms,
    viemTreeMs: viem.ms,
    treeOverLeaves: treeMs / leaves.ms,
    proofLength: proofs.result[0].length,
  });
  console.error(`${n} holders done`);
}

const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`).padStart(10);
console.log(`\nepoch tree with every proof, vs viem alone; ${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
console.log('  holders      build  all proofs  tree+proofs       dump  load+check  dump MB  viem leaves  viem tree   tree / leaves');
for (const r of rows) {
  console.log(
    `${String(r.holders).padStart(9)} ${s(r.buildMs)}  ${s(r.proofsMs)}  ${s(r.treeMs).padStart(11)} ${s(r.dumpMs)}  ${s(r.loadMs)}  ${(r.dumpBytes / 1e6).toFixed(1).padStart(7)}  ${s(r.viemLeavesMs).padStart(11)} ${s(r.viemTreeMs)}  ${r.treeOverLeaves.toFixed(1).padStart(13)}×`,
  );
}

mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      chainId: CHAIN_ID.toString(),
      repsBelow: { holders: REPEAT_BELOW, reps: REPS, statistic: 'median' },
      rows,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${out}`);
