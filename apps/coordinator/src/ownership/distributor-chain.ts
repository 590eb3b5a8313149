import { revenueDistributorAbi } from '@openshard/contracts';
import { createPublicClient, createWalletClient, defineChain, getAddress, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** What the coordinator needs from the RevenueDistributor on its chain. */
export interface DistributorChain {
  readonly chainId: number;
  readonly distributor: Address;
  totalDeposited(): Promise<bigint>;
  currentEpoch(): Promise<bigint>;
  root(): Promise<Hex>;
  claimed(account: Address): Promise<bigint>;
  /** Wei paid for an inference request id, as of `confirmations` blocks ago (1: the latest block). */
  paid(requestId: Hex, confirmations: number): Promise<bigint>;
  /** Sends publishRoot and waits until it is mined; throws if it reverted. */
  publishRoot(epoch: number, root: Hex, totalCumulative: bigint): Promise<Hex>;
}

export interface ChainConfig {
  rpcUrl: string;
  chainId: number;
  distributor: string;
  /** Key of an account holding PUBLISHER_ROLE. */
  publisherKey: Hex;
}

/** A DistributorChain over JSON-RPC (any EVM network; anvil for `npm start`). */
export function distributorChain(c: ChainConfig): DistributorChain {
  const chain = defineChain({ id: c.chainId, name: `chain ${c.chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [c.rpcUrl] } } });
  const transport = http(c.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(c.publisherKey) });
  const address = getAddress(c.distributor);
  const contract = { address, abi: revenueDistributorAbi } as const;
  return {
    chainId: c.chainId,
    distributor: address,
    totalDeposited: () => publicClient.readContract({ ...contract, functionName: 'totalDeposited' }),
    currentEpoch: () => publicClient.readContract({ ...contract, functionName: 'currentEpoch' }),
    root: () => publicClient.readContract({ ...contract, functionName: 'root' }),
    claimed: (account) => publicClient.readContract({ ...contract, functionName: 'claimed', args: [account] }),
    async paid(requestId, confirmations) {
      const latest = await publicClient.getBlockNumber({ cacheTime: 0 });
      const blockNumber = latest - BigInt(Math.max(0, confirmations - 1));
      if (blockNumber < 0n) return 0n;
      return publicClient.readContract({ ...contract, functionName: 'paid', args: [requestId], blockNumber });
    },
    async publishRoot(epoch, root, totalCumulative) {
      // simulated first: a refusal comes back as the contract's error, before any gas is spent
      const { request } = await publicClient.simulateContract({ ...contract, functionName: 'publishRoot', args: [BigInt(epoch), root, totalCumulative], account: walletClient.account });
      const hash = await walletClient.writeContract(request);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`publishRoot for epoch ${epoch} (${hash}) reverted in block ${receipt.blockNumber}`);
      return hash;
    },
  };
}
