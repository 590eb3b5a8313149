import { BaseError, ContractFunctionZeroDataError } from 'viem';
import type { EpochStore } from '../store/stores.ts';
import type { DistributorChain } from './distributor-chain.ts';

/**
 * Whether the chain still holds what the data folder says was published to it: the distributor's
 * current epoch must be at least the latest epoch the store marked published. A chain that lost
 * its state (a local anvil restarted without its state file, then redeployed) or a chain file
 * naming another deployment fails this; carrying on would publish the run's epochs to a contract
 * that never saw the earlier ones. An unreachable chain passes (the epoch publisher retries).
 */
export async function checkChainContinuity(chain: DistributorChain, epochs: EpochStore, runId: string, dataDir: string): Promise<void> {
  const published = await epochs.latestPublished(runId);
  if (!published) return;
  let onChain: bigint;
  try {
    onChain = await chain.currentEpoch();
  } catch (e) {
    // no contract at the address answers with no data at all (viem wraps that in ContractFunctionExecutionError)
    if (!(e instanceof BaseError && e.walk((c) => c instanceof ContractFunctionZeroDataError))) return;
    onChain = -1n;
  }
  if (onChain >= BigInt(published.epoch)) return;
  const found = onChain < 0n ? `there is no contract at ${chain.distributor}` : `the distributor ${chain.distributor} is at epoch ${onChain}`;
  throw new Error(
    `the chain (id ${chain.chainId}) has lost the state this data folder relies on: epoch ${published.epoch} of run ${runId} in ${dataDir} was published, but ${found}. ` +
      `A local chain loses its state when ${dataDir}/anvil-state.json is deleted or anvil was killed before saving it; a --chain file may name another deployment. ` +
      `Restore the chain's state or point --chain at the distributor the epochs were published to; or start a new run in a new --data-dir (move ${dataDir} aside): the old run's unpaid shares cannot be claimed from a new contract.`,
  );
}
