import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { useConfig, useConnection, WagmiProvider } from 'wagmi';
import { fetchChainInfo, type ChainInfo, type ChainLookup } from '../earnings/chain-info.ts';
import { mockWalletAccount, walletConfig } from '../earnings/wallet-config.ts';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { walletPayer } from './pay.ts';
import { PayerWallet } from './payer-wallet.tsx';
import { Playground } from './playground.tsx';
import './playground.css';

/** Try the model the network trains: pay for a generation from your wallet and watch it being written. */
export function PlaygroundPage() {
  const [lookup, setLookup] = useState<ChainLookup>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    try {
      void fetchChainInfo(coordinatorUrl()).then((l) => live && setLookup(l));
    } catch (e) {
      setLookup({ kind: 'failed', message: (e as Error).message });
    }
    return () => {
      live = false;
    };
  }, []);
  // as on the Earnings page: a wagmi config of its own, made from the coordinator's chain
  const config = useMemo(() => (lookup.kind === 'ready' ? walletConfig(lookup.chain, mockWalletAccount()) : null), [lookup]);
  const [queryClient] = useState(() => new QueryClient());

  return (
    <section className="playground">
      <h1>Playground</h1>
      <p>
        Ask the model the volunteers are training to continue a text. Each request is paid in ETH to the network's RevenueDistributor contract, which shares the revenue among the volunteers by the
        work they contributed.
      </p>
      {lookup.kind === 'loading' && <p className="muted">Asking the coordinator where requests are paid…</p>}
      {lookup.kind === 'failed' && <p className="bad">Could not learn the coordinator's chain, so nothing can be paid: {lookup.message}</p>}
      <QueryClientProvider client={queryClient}>
        {lookup.kind === 'no-chain' && <Playground chain={null} pay={null} wallet={<p className="muted">This coordinator has no chain: requests are free.</p>} />}
        {lookup.kind === 'ready' && config && (
          <WagmiProvider config={config}>
            <PaidPlayground chain={lookup.chain} />
          </WagmiProvider>
        )}
      </QueryClientProvider>
    </section>
  );
}

function PaidPlayground({ chain }: { chain: ChainInfo }) {
  const config = useConfig();
  const connection = useConnection();
  const account = connection.status === 'connected' && connection.chainId === chain.chainId ? connection.address : undefined;
  const pay = useMemo(() => (account ? walletPayer(config, account) : null), [config, account]);
  return <Playground chain={chain} pay={pay} wallet={<PayerWallet chain={chain} />} />;
}
