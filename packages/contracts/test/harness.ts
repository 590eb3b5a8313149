/** One anvil and one RevenueDistributor per test file, reverted to a snapshot after every test. */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  isHex,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import type { HDAccount } from 'viem/accounts';
import { startAnvil, type Anvil } from '../src/anvil.ts';
import { createLocalClients, type LocalClients } from '../src/clients.ts';
import { deployRevenueDistributor } from '../src/deploy.ts';
import { revenueDistributorAbi } from '../src/generated/artifacts.ts';
import { entitlementTree, type ClaimArgs, type Entitlement, type EntitlementTree } from './fixtures.ts';

export const ETH = 10n ** 18n;

export interface Revert {
  errorName: string;
  args: readonly unknown[];
}

export interface DistributorHarness {
  anvil: Anvil;
  clients: LocalClients;
  distributor: Address;
  /** Dev account 0: deploys, holds DEFAULT_ADMIN_ROLE, deposits revenue. */
  admin: HDAccount;
  /** Dev account 1: holds PUBLISHER_ROLE. */
  publisher: HDAccount;
  /** Dev accounts 2..9, for holders and outsiders. */
  others: HDAccount[];
  wallet(account: Account): WalletClient<Transport, Chain, Account>;
  tree(entitlements: readonly Entitlement[]): EntitlementTree;
  deposit(amount: bigint, from?: HDAccount): Promise<TransactionReceipt>;
  publishRoot(epoch: bigint, root: Hex, totalCumulative: bigint, by?: HDAccount): Promise<TransactionReceipt>;
  /** Builds the tree of `entitlements` and publishes it as `epoch`. */
  publish(epoch: bigint, entitlements: readonly Entitlement[]): Promise<EntitlementTree>;
  claim(args: ClaimArgs, by: HDAccount): Promise<TransactionReceipt>;
  claimed(account: Address): Promise<bigint>;
  balance(account: Address): Promise<bigint>;
}

/** Registers the vitest hooks and returns the harness, filled in by beforeAll. */
export function useDistributorHarness(): DistributorHarness {
  const h = {} as DistributorHarness;
  let snapshot: Hex;
  beforeAll(async () => {
    const anvil = await startAnvil();
    const [admin, publisher, ...others] = anvil.accounts;
    const clients = createLocalClients(anvil, admin);
    const distributor = await deployRevenueDistributor(clients, { admin: admin.address, publisher: publisher.address });
    const { publicClient } = clients;
    const wallets = new Map<Address, WalletClient<Transport, Chain, Account>>();
    const wallet = (account: Account) => {
      if (!wallets.has(account.address)) wallets.set(account.address, createLocalClients(anvil, account).walletClient);
      return wallets.get(account.address)!;
    };
    const mined = async (hash: Hex) => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
      return receipt;
    };
    const write = { address: distributor, abi: revenueDistributorAbi } as const;
    const tree = (entitlements: readonly Entitlement[]) => entitlementTree(anvil.chainId, distributor, entitlements);
    const publishRoot = async (epoch: bigint, root: Hex, totalCumulative: bigint, by = publisher) =>
      mined(await wallet(by).writeContract({ ...write, functionName: 'publishRoot', args: [epoch, root, totalCumulative] }));
    Object.assign(h, {
      anvil,
      clients,
      distributor,
      admin,
      publisher,
      others,
      wallet,
      tree,
      publishRoot,
      deposit: async (amount: bigint, from = admin) => mined(await wallet(from).writeContract({ ...write, functionName: 'deposit', value: amount })),
      publish: async (epoch: bigint, entitlements: readonly Entitlement[]) => {
        const t = tree(entitlements);
        await publishRoot(epoch, t.root, t.totalCumulative);
        return t;
      },
      claim: async ({ account, shares, cumulative, proof }: ClaimArgs, by: HDAccount) =>
        mined(await wallet(by).writeContract({ ...write, functionName: 'claim', args: [account, shares, cumulative, proof] })),
      claimed: (account: Address) => publicClient.readContract({ ...write, functionName: 'claimed', args: [account] }),
      balance: (address: Address) => publicClient.getBalance({ address }),
    } satisfies Partial<DistributorHarness>);
  });
  beforeEach(async () => {
    snapshot = await h.clients.testClient.snapshot();
  });
  afterEach(async () => {
    await h.clients.testClient.revert({ id: snapshot });
  });
  afterAll(async () => {
    await h.anvil?.stop();
  });
  return h;
}

/**
 * The custom error `action` reverted with: viem's decoded ContractFunctionRevertedError, or, for
 * actions viem does not decode (deployments), the raw revert data decoded with `abi`.
 */
export async function revertOf(action: Promise<unknown>, abi: Abi = revenueDistributorAbi): Promise<Revert> {
  try {
    await action;
  } catch (error) {
    if (!(error instanceof BaseError)) throw error;
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
    }
    const raw = error.walk((e) => isHex((e as { data?: unknown }).data)) as { data?: Hex } | null;
    if (raw?.data) {
      const decoded = decodeErrorResult({ abi, data: raw.data });
      return { errorName: decoded.errorName, args: decoded.args ?? [] };
    }
    throw error;
  }
  throw new Error('expected a revert, but the transaction succeeded');
}

/** The custom error a mined, reverted transaction hit, replayed by anvil's call tracer. */
export async function minedRevert(rpcUrl: string, hash: Hex, abi: Abi = revenueDistributorAbi): Promise<Revert> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'debug_traceTransaction', params: [hash, { tracer: 'callTracer' }] }),
  });
  const { result } = (await response.json()) as { result: { output: Hex } };
  const decoded = decodeErrorResult({ abi, data: result.output });
  return { errorName: decoded.errorName, args: decoded.args ?? [] };
}

/** Wei a mined transaction cost its sender in gas. */
export function gasCost(receipt: Pick<TransactionReceipt, 'gasUsed' | 'effectiveGasPrice'>): bigint {
  return receipt.gasUsed * receipt.effectiveGasPrice;
}
