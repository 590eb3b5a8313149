/**
 * Paying for an inference request: RevenueDistributor.pay and its record. Browser-safe (viem only):
 * the web app pays from the user's wallet, the coordinator reads what was paid.
 */
import { isAddressEqual, parseEventLogs, type Address, type Chain, type Hash, type Hex, type PublicClient, type Transport } from 'viem';
import type { DeployClients } from './deploy.ts';
import { revenueDistributorAbi } from './generated/artifacts.ts';

/** The wallet's account pays, and is recorded as the payer. */
export type PayRequestClients = DeployClients;

export interface PayRequestParameters {
  /** The id the coordinator quoted; each id can be paid once. */
  requestId: Hex;
  /** Unix seconds; a payment mined later reverts QuoteExpired. */
  deadline: bigint;
  /** Wei; must be more than 0. */
  value: bigint;
}

export interface PayRequestReturnType {
  hash: Hash;
  blockNumber: bigint;
  /** Wei the RequestPaid event recorded. */
  amount: bigint;
}

export class PaymentError extends Error {
  override name = 'PaymentError';
}

/**
 * Pays `value` wei for `requestId` and waits until it is mined. Simulated first, so a refusal
 * (ZeroPayment, QuoteExpired, AlreadyPaid) throws the contract's error before any gas is spent;
 * read it with `revertErrorName`.
 */
export async function payRequest(clients: PayRequestClients, distributor: Address, { requestId, deadline, value }: PayRequestParameters): Promise<PayRequestReturnType> {
  // A call to an address without code "succeeds" and would keep the ETH: refuse before sending.
  const code = await clients.publicClient.getCode({ address: distributor });
  if (!code || code === '0x') {
    throw new PaymentError(`no contract at ${distributor} on chain ${clients.publicClient.chain.id}; nothing was paid. Check the distributor address the coordinator announced`);
  }
  const { request } = await clients.publicClient.simulateContract({
    address: distributor,
    abi: revenueDistributorAbi,
    functionName: 'pay',
    args: [requestId, deadline],
    value,
    account: clients.walletClient.account,
  });
  const hash = await clients.walletClient.writeContract(request);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') {
    throw new PaymentError(`payment for request ${requestId} (${hash}) reverted in block ${receipt.blockNumber}; check paidFor before paying again`);
  }
  const paid = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'RequestPaid', logs: receipt.logs }).find((e) => isAddressEqual(e.address, distributor));
  if (!paid) {
    throw new PaymentError(`transaction ${hash} to ${distributor} emitted no RequestPaid: it is not a RevenueDistributor, and ${value} wei went to it`);
  }
  return { hash, blockNumber: receipt.blockNumber, amount: paid.args.amount };
}

export interface RequestPayment {
  /** Wei paid; 0n while unpaid. */
  amount: bigint;
  /** The zero address while unpaid. */
  payer: Address;
}

/**
 * What was paid for `requestId`, both fields read at one block (latest unless given), so a payment
 * mined between the two reads cannot show an amount without its payer.
 */
export async function paidFor(publicClient: PublicClient<Transport, Chain>, distributor: Address, requestId: Hex, blockNumber?: bigint): Promise<RequestPayment> {
  const at = blockNumber ?? (await publicClient.getBlockNumber({ cacheTime: 0 }));
  const call = { address: distributor, abi: revenueDistributorAbi, args: [requestId], blockNumber: at } as const;
  const [amount, payer] = await Promise.all([publicClient.readContract({ ...call, functionName: 'paid' }), publicClient.readContract({ ...call, functionName: 'payer' })]);
  return { amount, payer };
}
