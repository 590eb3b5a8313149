import { getAddress, type Account, type Address, type Chain, type Hash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { revenueDistributorAbi, revenueDistributorBytecode } from './generated/artifacts.ts';

export interface DeployClients {
  walletClient: WalletClient<Transport, Chain, Account>;
  publicClient: PublicClient<Transport, Chain>;
}

export interface DeployRevenueDistributorParameters {
  /** Holds DEFAULT_ADMIN_ROLE: grants and revokes publishers. */
  admin: Address;
  /** Holds PUBLISHER_ROLE: publishes each epoch's root. */
  publisher: Address;
}

export class DeploymentError extends Error {
  override name = 'DeploymentError';
}

/** Deploys RevenueDistributor from walletClient's account and waits for the receipt. */
export async function deployRevenueDistributor(clients: DeployClients, { admin, publisher }: DeployRevenueDistributorParameters): Promise<Address> {
  const hash = await clients.walletClient.deployContract({
    abi: revenueDistributorAbi,
    bytecode: revenueDistributorBytecode,
    args: [admin, publisher],
  });
  return deployedAddress(clients.publicClient, hash, 'RevenueDistributor');
}

/** The (checksummed) address a deployment transaction created; throws if it reverted. */
export async function deployedAddress(publicClient: PublicClient<Transport, Chain>, hash: Hash, contract: string): Promise<Address> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new DeploymentError(`${contract} deployment ${hash} ${receipt.status} in block ${receipt.blockNumber}; no contract was created`);
  }
  return getAddress(receipt.contractAddress);
}
