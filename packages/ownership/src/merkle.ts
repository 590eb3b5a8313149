/**
 * The epoch tree: one OpenZeppelin standard Merkle tree per closed epoch, whose root the
 * RevenueDistributor stores. Leaf i is
 *   keccak256(bytes.concat(keccak256(abi.encode(chainid, distributor, account, shares, cumulative))))
 * and inner nodes hash their sorted children, as OpenZeppelin's MerkleProof verifies. The chain id
 * and contract in every leaf keep a proof from being replayed on another chain or deployment.
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { Address, Hex } from 'viem';
import { checksummed } from './address.ts';
import type { Entitlement } from './entitlements.ts';

/** ABI types of a leaf: [chainId, distributor, account, shares, cumulative]. */
export const EPOCH_LEAF_ENCODING = ['uint256', 'address', 'address', 'uint256', 'uint256'];

/** Leaf values as stored: uint256 as decimal strings, so the tree's JSON round-trips. */
export type EpochLeaf = [chainId: string, distributor: Address, account: Address, shares: string, cumulative: string];

export interface BuildEpochTreeParameters {
  chainId: bigint | number;
  /** The RevenueDistributor contract that will hold the root. */
  distributor: string;
  holders: readonly Entitlement[];
}

/** What a holder passes to the contract's claim. */
export interface EpochClaim extends Entitlement {
  proof: Hex[];
}

export interface EpochTree {
  readonly root: Hex;
  readonly chainId: bigint;
  readonly distributor: Address;
  /** Σ cumulative entitlements, wei: what the contract must have received for every claim to pay. */
  readonly total: bigint;
  readonly size: number;
  /** The claim of `address`, or undefined when it is not a holder in this tree. */
  claim(address: string): EpochClaim | undefined;
  /** StandardMerkleTree.dump as a JSON string, for storage; read back with loadEpochTree. */
  dump(): string;
}

/** A tree refused on build or load. */
export class EpochTreeError extends Error {
  override name = 'EpochTreeError';
}

const UINT256_MAX = 2n ** 256n - 1n;

export function buildEpochTree({ chainId, distributor, holders }: BuildEpochTreeParameters): EpochTree {
  const chain = checkChainId(chainId);
  const contract = checkAddress(distributor, 'distributor');
  if (holders.length === 0) throw new EpochTreeError('an epoch tree needs at least one holder; publish no root until someone holds shares');
  const values = holders.map(
    (h, i): EpochLeaf => [
      chain.toString(),
      contract,
      checkAddress(h.address, `holders[${i}].address`),
      checkUint(h.shares, `holders[${i}].shares`).toString(),
      checkUint(h.cumulative, `holders[${i}].cumulative`).toString(),
    ],
  );
  return wrap(StandardMerkleTree.of<EpochLeaf>(values, EPOCH_LEAF_ENCODING), chain, contract);
}

/**
 * Reads a tree written by `dump`, refusing anything but an epoch tree whose stored root is the root
 * of its values (a dump with extra leaf hashes in `tree` would pass StandardMerkleTree.load alone).
 */
export function loadEpochTree(json: string, expected: { root?: Hex; chainId?: bigint | number; distributor?: string } = {}): EpochTree {
  // the shape StandardMerkleTree.dump writes, unchecked until below
  let data: { format?: unknown; leafEncoding?: unknown; tree?: unknown[]; values?: { value?: unknown }[] } | null;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new EpochTreeError(`epoch tree is not JSON: ${(e as Error).message}`);
  }
  if (data?.format !== 'standard-v1') throw new EpochTreeError(`epoch tree has format '${data?.format}', expected 'standard-v1'`);
  if (JSON.stringify(data.leafEncoding) !== JSON.stringify(EPOCH_LEAF_ENCODING)) {
    throw new EpochTreeError(`epoch tree has leaf encoding ${JSON.stringify(data.leafEncoding)}, expected ${JSON.stringify(EPOCH_LEAF_ENCODING)}`);
  }
  if (!Array.isArray(data.values) || data.values.length === 0 || !Array.isArray(data.tree)) {
    throw new EpochTreeError('epoch tree has no values; expected at least one leaf');
  }
  const values = data.values.map((entry, i): EpochLeaf => parseLeaf(entry?.value, i));
  const [chainField, contract] = values[0];
  const chain = checkChainId(BigInt(chainField));
  values.forEach(([c, d], i) => {
    if (c !== chainField || d !== contract) {
      throw new EpochTreeError(`epoch tree values[${i}] is for chain ${c} contract ${d}, but values[0] is for chain ${chainField} contract ${contract}; one tree per chain and contract`);
    }
  });
  const stored = data.tree[0];
  const rebuilt = StandardMerkleTree.of<EpochLeaf>(values, EPOCH_LEAF_ENCODING);
  if (rebuilt.root !== stored) {
    throw new EpochTreeError(`epoch tree stores root ${stored}, but its ${values.length} values hash to ${rebuilt.root}; the file was altered or truncated`);
  }
  if (expected.root !== undefined && rebuilt.root !== expected.root.toLowerCase()) {
    throw new EpochTreeError(`epoch tree has root ${rebuilt.root}, expected ${expected.root}`);
  }
  if (expected.chainId !== undefined && chain !== checkChainId(expected.chainId)) {
    throw new EpochTreeError(`epoch tree is for chain ${chain}, expected ${expected.chainId}`);
  }
  if (expected.distributor !== undefined && contract !== checkAddress(expected.distributor, 'expected distributor')) {
    throw new EpochTreeError(`epoch tree is for contract ${contract}, expected ${expected.distributor}`);
  }
  return wrap(rebuilt, chain, contract);
}

function wrap(tree: StandardMerkleTree<EpochLeaf>, chainId: bigint, distributor: Address): EpochTree {
  const index = new Map<Address, number>();
  let total = 0n;
  for (const [i, [, , account, , cumulative]] of tree.entries()) {
    if (index.has(account)) throw new EpochTreeError(`epoch tree lists ${account} twice; one leaf per holder`);
    index.set(account, i);
    total += BigInt(cumulative);
  }
  return {
    root: tree.root as Hex,
    chainId,
    distributor,
    total,
    size: tree.length,
    claim(address) {
      const i = index.get(checkAddress(address, 'address'));
      if (i === undefined) return undefined;
      const [, , account, shares, cumulative] = tree.at(i)!;
      return { address: account, shares: BigInt(shares), cumulative: BigInt(cumulative), proof: tree.getProof(i) as Hex[] };
    },
    dump: () => JSON.stringify(tree.dump()),
  };
}

function parseLeaf(value: unknown, i: number): EpochLeaf {
  if (!Array.isArray(value) || value.length !== 5) throw new EpochTreeError(`epoch tree values[${i}] is ${JSON.stringify(value)}, expected 5 fields`);
  const [chainId, distributor, account, shares, cumulative] = value;
  return [
    parseUint(chainId, `values[${i}] chainId`).toString(),
    checkAddress(distributor, `epoch tree values[${i}] distributor`),
    checkAddress(account, `epoch tree values[${i}] account`),
    parseUint(shares, `values[${i}] shares`).toString(),
    parseUint(cumulative, `values[${i}] cumulative`).toString(),
  ];
}

function checkAddress(raw: unknown, what: string): Address {
  const address = checksummed(raw);
  if (address === undefined) throw new EpochTreeError(`${what} '${String(raw)}' is not an address; expected 0x and 40 hex digits, EIP-55 checksummed or in one case`);
  return address;
}

function checkUint(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > UINT256_MAX) {
    throw new EpochTreeError(`${what} is ${typeof value} ${String(value)}; expected a bigint in [0, 2^256)`);
  }
  return value;
}

function parseUint(raw: unknown, what: string): bigint {
  if (typeof raw !== 'string' || !/^(0|[1-9][0-9]*)$/.test(raw)) throw new EpochTreeError(`epoch tree ${what} is ${JSON.stringify(raw)}, expected a decimal string`);
  return checkUint(BigInt(raw), what);
}

function checkChainId(chainId: bigint | number): bigint {
  if (typeof chainId === 'number' && !Number.isSafeInteger(chainId)) throw new EpochTreeError(`chainId ${chainId} is not an integer`);
  const id = BigInt(chainId);
  if (id <= 0n) throw new EpochTreeError(`chainId ${id} must be positive (an EIP-155 chain id)`);
  return id;
}
