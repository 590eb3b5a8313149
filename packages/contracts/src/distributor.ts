import type { Address, Chain, PublicClient, Transport } from 'viem';
import { revenueDistributorAbi } from './generated/artifacts.ts';

/** All amounts in wei. Invariant: totalClaimed <= totalCumulative <= totalDeposited. */
export interface DistributorState {
  currentEpoch: bigint;
  root: `0x${string}`;
  /** The root of epoch currentEpoch − 1, still accepted by claim; zero before epoch 2. */
  previousRoot: `0x${string}`;
  totalCumulative: bigint;
  totalDeposited: bigint;
  totalClaimed: bigint;
  /** The contract's ETH; equals totalDeposited - totalClaimed unless ETH was forced in. */
  balance: bigint;
}

export async function readDistributorState(publicClient: PublicClient<Transport, Chain>, address: Address): Promise<DistributorState> {
  const read = <F extends 'currentEpoch' | 'root' | 'previousRoot' | 'totalCumulative' | 'totalDeposited' | 'totalClaimed'>(functionName: F) =>
    publicClient.readContract({ address, abi: revenueDistributorAbi, functionName });
  const [currentEpoch, root, previousRoot, totalCumulative, totalDeposited, totalClaimed, balance] = await Promise.all([
    read('currentEpoch'),
    read('root'),
    read('previousRoot'),
    read('totalCumulative'),
    read('totalDeposited'),
    read('totalClaimed'),
    publicClient.getBalance({ address }),
  ]);
  return { currentEpoch, root, previousRoot, totalCumulative, totalDeposited, totalClaimed, balance };
}
