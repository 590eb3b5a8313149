import { payRequest } from '@openshard/contracts';
import type { Address } from 'viem';
import type { Config } from 'wagmi';
import { getPublicClient, getWalletClient } from 'wagmi/actions';
import type { PaymentQuote } from './quote.ts';
import type { Payment } from './run.ts';

/**
 * Pays quotes from the connected wallet with the contracts package's payRequest: the distributor
 * must have code, the call is simulated first (a QuoteExpired or AlreadyPaid refusal costs no
 * gas), and the payment counts once its RequestPaid event is mined.
 */
export function walletPayer(config: Config, account: Address): (quote: PaymentQuote) => Promise<Payment> {
  return async (quote) => {
    const publicClient = getPublicClient(config, { chainId: quote.chainId });
    if (!publicClient) throw new Error(`the wallet is not set up for chain ${quote.chainId}`);
    const walletClient = await getWalletClient(config, { chainId: quote.chainId, account });
    const paid = await payRequest({ publicClient, walletClient }, quote.payTo, { requestId: quote.requestId, deadline: quote.deadline, value: quote.amount });
    return { requestId: quote.requestId, amount: paid.amount, txHash: paid.hash, blockNumber: paid.blockNumber };
  };
}
