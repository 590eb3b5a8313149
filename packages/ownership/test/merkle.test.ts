import { describe, expect, test } from 'vitest';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { concat, encodeAbiParameters, getAddress, keccak256 } from 'viem';
import type { Address, Hex } from 'viem';
import { EPOCH_LEAF_ENCODING, EpochTreeError, buildEpochTree, loadEpochTree } from '../src/index.ts';
import type { Entitlement } from '../src/index.ts';

const DISTRIBUTOR = '0x5FbDB2315678afecb367f032d93F642f64180aa3'; // anvil's first deployment
const CHAIN = 31337n;

const holders: Entitlement[] = Array.from({ length: 13 }, (_, i) => ({
  address: getAddress(keccak256(`0x${(i + 1).toString(16).padStart(2, '0')}`).slice(0, 42)),
  shares: BigInt(i + 1) * 10n ** 12n,
  cumulative: BigInt(i * i) * 10n ** 15n + BigInt(i),
}));

/** What the contract computes: keccak256(bytes.concat(keccak256(abi.encode(chainid, this, account, shares, cumulative)))). */
function leafHash(chainId: bigint, distributor: Address, h: Entitlement): Hex {
  const encoded = encodeAbiParameters(
    [{ type: 'uint256' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }, { type: 'uint256' }],
    [chainId, distributor, h.address, h.shares, h.cumulative],
  );
  return keccak256(keccak256(encoded));
}

/** OpenZeppelin MerkleProof.processProof: fold the siblings in, each pair hashed in sorted order. */
function processProof(leaf: Hex, proof: readonly Hex[]): Hex {
  return proof.reduce((node, sibling) => keccak256(node.toLowerCase() < sibling.toLowerCase() ? concat([node, sibling]) : concat([sibling, node])), leaf);
}

const leafOf = (h: Entitlement, chainId = CHAIN, distributor: string = DISTRIBUTOR) => [chainId.toString(), distributor, h.address, h.shares.toString(), h.cumulative.toString()];

describe('epoch tree', () => {
  const tree = buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders });

  test('behavior: every holder has a proof that StandardMerkleTree.verify and an independent viem check both accept', () => {
    expect(tree.size).toBe(holders.length);
    expect(tree.total).toBe(holders.reduce((a, h) => a + h.cumulative, 0n));
    for (const h of holders) {
      const claim = tree.claim(h.address.toLowerCase())!;
      expect(claim).toMatchObject(h);
      expect(StandardMerkleTree.verify(tree.root, EPOCH_LEAF_ENCODING, leafOf(h), claim.proof)).toBe(true);
      expect(processProof(leafHash(CHAIN, DISTRIBUTOR, h), claim.proof)).toBe(tree.root);
    }
    expect(tree.claim('0x000000000000000000000000000000000000dEaD')).toBeUndefined();
  });

  test('behavior: a changed value no longer verifies', () => {
    const h = holders[5];
    const { proof } = tree.claim(h.address)!;
    for (const changed of [
      { ...h, cumulative: h.cumulative + 1n },
      { ...h, shares: h.shares - 1n },
      { ...h, address: holders[6].address },
    ]) {
      expect(StandardMerkleTree.verify(tree.root, EPOCH_LEAF_ENCODING, leafOf(changed), proof)).toBe(false);
      expect(processProof(leafHash(CHAIN, DISTRIBUTOR, changed), proof)).not.toBe(tree.root);
    }
  });

  test('behavior: leaves for another chain id or another contract give another root', () => {
    const otherChain = buildEpochTree({ chainId: 1, distributor: DISTRIBUTOR, holders });
    const otherContract = buildEpochTree({ chainId: CHAIN, distributor: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', holders });
    expect(new Set([tree.root, otherChain.root, otherContract.root]).size).toBe(3);
    const h = holders[0];
    expect(StandardMerkleTree.verify(tree.root, EPOCH_LEAF_ENCODING, leafOf(h, 1n), tree.claim(h.address)!.proof)).toBe(false);
  });

  test('behavior: a tree of one holder has the leaf as root and an empty proof', () => {
    const one = buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders: [holders[0]] });
    expect(one.root).toBe(leafHash(CHAIN, DISTRIBUTOR, holders[0]));
    expect(one.claim(holders[0].address)!.proof).toEqual([]);
  });

  test('behavior: dump and load round-trip to the same root and proofs', () => {
    const loaded = loadEpochTree(tree.dump(), { root: tree.root, chainId: 31337, distributor: DISTRIBUTOR.toLowerCase() });
    expect([loaded.root, loaded.total, loaded.chainId, loaded.distributor]).toEqual([tree.root, tree.total, CHAIN, DISTRIBUTOR]);
    for (const h of holders) expect(loaded.claim(h.address)).toEqual(tree.claim(h.address));
  });

  test('error: a stored tree whose values, root or nodes were altered is refused with both roots', () => {
    const data = JSON.parse(tree.dump());
    data.values[3].value[4] = '1';
    expect(() => loadEpochTree(JSON.stringify(data))).toThrow(new RegExp(`stores root ${tree.root}, but its 13 values hash to 0x[0-9a-f]{64}`));
    // a hidden extra leaf: values and internal nodes consistent with each other, root of a bigger tree
    const bigger = JSON.parse(buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders: [...holders, { ...holders[0], address: DISTRIBUTOR }] }).dump());
    bigger.values.pop();
    expect(() => loadEpochTree(JSON.stringify(bigger))).toThrow(/but its 13 values hash to/);
    expect(() => loadEpochTree(tree.dump(), { root: `0x${'00'.repeat(32)}` })).toThrow(`epoch tree has root ${tree.root}, expected 0x${'00'.repeat(32)}`);
    expect(() => loadEpochTree(tree.dump(), { chainId: 1 })).toThrow('epoch tree is for chain 31337, expected 1');
  });

  test('error: malformed stored trees are refused naming what is wrong', () => {
    const data = JSON.parse(tree.dump());
    expect(() => loadEpochTree('{')).toThrow(/epoch tree is not JSON/);
    expect(() => loadEpochTree(JSON.stringify({ ...data, format: 'simple-v1' }))).toThrow("epoch tree has format 'simple-v1', expected 'standard-v1'");
    expect(() => loadEpochTree(JSON.stringify({ ...data, leafEncoding: ['address', 'uint256'] }))).toThrow(/leaf encoding \["address","uint256"\], expected/);
    const mixed = JSON.parse(tree.dump());
    mixed.values[2].value[0] = '1';
    expect(() => loadEpochTree(JSON.stringify(mixed))).toThrow('epoch tree values[2] is for chain 1 contract');
    const negative = JSON.parse(tree.dump());
    negative.values[1].value[3] = '-5';
    expect(() => loadEpochTree(JSON.stringify(negative))).toThrow('epoch tree values[1] shares is "-5", expected a decimal string');
  });

  test('error: bad build input is refused naming the value', () => {
    expect(() => buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders: [] })).toThrow(/at least one holder/);
    expect(() => buildEpochTree({ chainId: 0, distributor: DISTRIBUTOR, holders })).toThrow('chainId 0 must be positive');
    expect(() => buildEpochTree({ chainId: CHAIN, distributor: '0xabc', holders })).toThrow("distributor '0xabc' is not an address");
    expect(() => buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders: [{ ...holders[0], cumulative: -1n }] })).toThrow(
      'holders[0].cumulative is bigint -1; expected a bigint in [0, 2^256)',
    );
    expect(() => buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders: [holders[0], { ...holders[0], cumulative: 1n }] })).toThrow(`epoch tree lists ${holders[0].address} twice`);
    expect(() => buildEpochTree({ chainId: CHAIN, distributor: DISTRIBUTOR, holders: [] })).toThrow(EpochTreeError);
  });
});
