/**
 * npm run bench:contracts [-- --holders 1000] [--claims 20] [--out bench-results/contracts-gas.json]
 *
 * Gas of RevenueDistributor operations on a local anvil, read from receipts: claims (first and
 * later, by the owner itself and relayed to an account with no ETH yet, and against the previous
 * root after a new one landed), root publications, deposits, payments for inference requests and
 * the deployment. The peer is a plain ETH transfer between two EOAs in the same run.
 * Prints a table and writes JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { getAddress, keccak256, parseEther, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { compiler, revenueDistributorAbi, revenueDistributorBytecode } from '../src/index.ts';
import { createLocalClients, resolveAnvilBinary, startAnvil } from '../src/node.ts';
import { entitlementTree, type ClaimArgs, type Entitlement, type EntitlementTree } from '../test/fixtures.ts';

const { values: args } = parseArgs({
  options: { holders: { type: 'string' }, claims: { type: 'string' }, out: { type: 'string' } },
});
const HOLDERS = Number(args.holders ?? 1000);
/** Claims measured per kind; each is one transaction. */
const CLAIMS = Math.min(Number(args.claims ?? 20), HOLDERS);
const OUT = args.out ?? 'bench-results/contracts-gas.json';
const CLAIMANT_FUNDING = parseEther('1');
/** How long the quote answered by each measured payment stays open (s). */
const QUOTE_TTL_S = 3_600n;

const anvil = await startAnvil();
const { publicClient, walletClient, testClient } = createLocalClients(anvil);
const [admin, publisher, other] = anvil.accounts;
const samples = new Map<string, bigint[]>();
const record = async (operation: string, hash: Hex) => {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${operation}: transaction ${hash} reverted`);
  samples.set(operation, [...(samples.get(operation) ?? []), receipt.gasUsed]);
  return receipt;
};

try {
  // The peer: an EOA-to-EOA transfer, the cheapest way to move ETH.
  for (let i = 0; i < CLAIMS; i++) await record('peer: plain ETH transfer', await walletClient.sendTransaction({ to: other.address, value: 1n }));

  const deployHash = await walletClient.deployContract({
    abi: revenueDistributorAbi,
    bytecode: revenueDistributorBytecode,
    args: [admin.address, publisher.address],
  });
  const distributor = getAddress((await record('deploy RevenueDistributor', deployHash)).contractAddress!);
  const write = { address: distributor, abi: revenueDistributorAbi } as const;
  // The very first deposit also initialises totalDeposited's storage slot (0 → nonzero).
  await record('deposit(), first ever', await walletClient.writeContract({ ...write, functionName: 'deposit', value: 1n }));
  const publisherWallet = createLocalClients(anvil, publisher).walletClient;
  // Payments for new request ids: each stores one new slot, like a first deposit plus a record.
  const deadline = (await publicClient.getBlock()).timestamp + QUOTE_TTL_S;
  for (let i = 0; i < CLAIMS; i++) {
    const requestId = keccak256(toHex(`openshard bench request ${i}`));
    await record('pay(), a new request', await walletClient.writeContract({ ...write, functionName: 'pay', args: [requestId, deadline], value: parseEther('0.001') }));
  }

  // Holders 0..CLAIMS-1 sign their own claims; CLAIMS..2·CLAIMS-1 are claimed for by a relayer
  // while they hold no ETH; 2·CLAIMS..3·CLAIMS-1 are claimed for with epoch 1's proof after epoch
  // 2's root landed; the rest only fill the tree.
  const owners: PrivateKeyAccount[] = Array.from({ length: CLAIMS }, (_, i) => privateKeyToAccount(keccak256(toHex(`openshard bench owner ${i}`))));
  const addresses: Address[] = [...owners.map((o) => o.address)];
  for (let i = owners.length; i < HOLDERS; i++) addresses.push(getAddress(keccak256(toHex(`openshard bench holder ${i}`)).slice(0, 42)));
  for (const owner of owners) await testClient.setBalance({ address: owner.address, value: CLAIMANT_FUNDING });
  const relayed = addresses.slice(CLAIMS, 2 * CLAIMS);
  const late = addresses.slice(2 * CLAIMS, 3 * CLAIMS);
  const trees: EntitlementTree[] = [];
  const entitlements = (epoch: bigint): Entitlement[] => addresses.map((account, i) => ({ account, shares: BigInt(i + 1), cumulative: parseEther('0.001') * BigInt(i + 1) * epoch }));
  const claim = (args: ClaimArgs, signer = createLocalClients(anvil, owners[0]).walletClient) =>
    signer.writeContract({ ...write, functionName: 'claim', args: [args.account, args.shares, args.cumulative, args.proof] });
  const proofLengths: number[] = [];

  // Epoch 2's publication also writes previousRoot for the first time (0 → nonzero); epoch 3's
  // is what every later one costs.
  const publications: Record<string, string> = { '1': 'first (epoch 1)', '2': 'second (epoch 2)', '3': 'later (epoch 3)' };
  for (const epoch of [1n, 2n, 3n]) {
    const buildStart = performance.now();
    const tree = entitlementTree(anvil.chainId, distributor, entitlements(epoch));
    const buildMs = performance.now() - buildStart;
    const newRevenue = tree.totalCumulative - (await publicClient.readContract({ ...write, functionName: 'totalDeposited' }));
    await record(
      epoch === 1n ? 'deposit()' : 'receive(), a plain transfer in',
      epoch === 1n ? await walletClient.writeContract({ ...write, functionName: 'deposit', value: newRevenue }) : await walletClient.sendTransaction({ to: distributor, value: newRevenue }),
    );
    const kind = epoch === 1n ? 'first' : 'later';
    await record(`publishRoot, ${publications[String(epoch)]}`, await publisherWallet.writeContract({ ...write, functionName: 'publishRoot', args: [epoch, tree.root, tree.totalCumulative] }));
    for (const owner of owners) {
      const args = tree.claimArgs(owner.address);
      proofLengths.push(args.proof.length);
      await record(`claim, ${kind}, by the owner`, await claim(args, createLocalClients(anvil, owner).walletClient));
    }
    if (epoch === 1n) for (const account of relayed) await record('claim, first, relayed to an account with no ETH', await claim(tree.claimArgs(account), walletClient));
    if (epoch === 2n) for (const account of late) await record('claim, first, relayed, against the previous root', await claim(trees[0].claimArgs(account), walletClient));
    trees.push(tree);
    console.log(`epoch ${epoch}: tree of ${HOLDERS} entitlements built in ${buildMs.toFixed(0)} ms`);
  }

  const peer = mean(samples.get('peer: plain ETH transfer')!);
  const rows = [...samples].map(([operation, gas]) => ({
    operation,
    samples: gas.length,
    meanGas: Math.round(mean(gas)),
    minGas: Number(gas.reduce((a, b) => (a < b ? a : b))),
    maxGas: Number(gas.reduce((a, b) => (a > b ? a : b))),
    vsPlainTransfer: Number((mean(gas) / peer).toFixed(2)),
  }));
  const proof = { holders: HOLDERS, minLength: Math.min(...proofLengths), maxLength: Math.max(...proofLengths), meanLength: mean(proofLengths.map(BigInt)) };

  console.log(`\nRevenueDistributor gas on anvil, ${HOLDERS} holders (proof length ${proof.minLength}–${proof.maxLength})`);
  console.log(['operation'.padEnd(48), 'n'.padStart(4), 'mean gas'.padStart(10), 'min'.padStart(8), 'max'.padStart(8), '× transfer'.padStart(11)].join(' '));
  for (const r of rows) {
    console.log(
      [
        r.operation.padEnd(48),
        String(r.samples).padStart(4),
        String(r.meanGas).padStart(10),
        String(r.minGas).padStart(8),
        String(r.maxGas).padStart(8),
        r.vsPlainTransfer.toFixed(2).padStart(11),
      ].join(' '),
    );
  }
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        anvil: execFileSync(resolveAnvilBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0],
        compiler,
        proof,
        peer: { operation: 'plain ETH transfer', gas: peer },
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${OUT}`);
} finally {
  await anvil.stop();
}

function mean(values: readonly bigint[]): number {
  return Number(values.reduce((a, b) => a + b, 0n)) / values.length;
}
