import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { useBalance, useConnection, WagmiProvider } from 'wagmi';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { fetchChainInfo, type ChainInfo, type ChainLookup } from './chain-info.ts';
import { OwnershipPanel } from './ownership-panel.tsx';
import { RevenueHistoryPanel } from './revenue-history-panel.tsx';
import { SignInPanel } from './sign-in-panel.tsx';
import { useOwnership } from './use-ownership.ts';
import { useRevenueHistory } from './use-revenue-history.ts';
import { mockWalletAccount, walletConfig } from './wallet-config.ts';
import { WalletPanel } from './wallet-panel.tsx';

/** Connect a wallet, sign in so contributed work accrues to it, and claim its share of the revenue. */
export function EarningsPage() {
  const [lookup, setLookup] = useState<ChainLookup>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    let url: string;
    try {
      url = coordinatorUrl();
    } catch (e) {
      setLookup({ kind: 'failed', message: (e as Error).message });
      return;
    }
    void fetchChainInfo(url).then((l) => live && setLookup(l));
    return () => {
      live = false;
    };
  }, []);
  // the rest of the app does not use wagmi: this page has its own config, made from the coordinator's chain
  const config = useMemo(() => (lookup.kind === 'ready' ? walletConfig(lookup.chain, mockWalletAccount()) : null), [lookup]);
  const [queryClient] = useState(() => new QueryClient());

  return (
    <section>
      <h1>Earnings</h1>
      <p>Accepted work accrues ownership shares to the wallet you sign in with. Revenue deposited to the RevenueDistributor contract is split pro rata to shares each epoch; claim yours here.</p>
      {lookup.kind === 'loading' && <p className="muted">Asking the coordinator which chain it pays out on…</p>}
      {lookup.kind === 'no-chain' && (
        <p className="bad" data-testid="no-chain">
          This coordinator has no chain, so there is no revenue to claim: {lookup.message}
        </p>
      )}
      {lookup.kind === 'failed' && <p className="bad">Could not learn the coordinator's chain: {lookup.message}</p>}
      {lookup.kind === 'ready' && config && (
        <WagmiProvider config={config}>
          <QueryClientProvider client={queryClient}>
            <Earnings chain={lookup.chain} />
          </QueryClientProvider>
        </WagmiProvider>
      )}
    </section>
  );
}

function Earnings({ chain }: { chain: ChainInfo }) {
  const url = coordinatorUrl();
  const connection = useConnection();
  const account = connection.status === 'connected' ? connection.address : undefined;
  const balance = useBalance({ address: account, chainId: chain.chainId, query: { enabled: account !== undefined } });
  const ownership = useOwnership(url, account);
  const history = useRevenueHistory(url, account);

  return (
    <>
      <p className="muted">
        Chain {chain.chainId} · RevenueDistributor {chain.distributor}
      </p>
      <WalletPanel chain={chain} balance={account ? balance.data?.value : undefined} />
      {account && (
        <>
          <h2>Sign in</h2>
          <SignInPanel coordinatorUrl={url} address={account} />
          <h2>Ownership and revenue</h2>
          <OwnershipPanel
            chain={chain}
            account={account}
            ownership={ownership.data}
            problem={ownership.error ? `Could not read your ownership: ${ownership.error.message}` : null}
            onClaimed={() => {
              void balance.refetch();
              void ownership.refetch();
            }}
          />
          <h2>Revenue history</h2>
          <RevenueHistoryPanel history={history.data} problem={history.error ? `Could not read the revenue history: ${history.error.message}` : null} />
        </>
      )}
    </>
  );
}
