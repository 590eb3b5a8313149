import { useBalance, useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from 'wagmi';
import type { ChainInfo } from '../earnings/chain-info.ts';
import { formatEth } from '../earnings/format-wei.ts';
import { plainError } from '../earnings/plain-error.ts';

/** How often the paying wallet's balance is read again (ms), so a payment shows. */
const BALANCE_POLL_MS = 4_000;

/** The wallet that pays for generations: connect it, and see its address, balance and chain. */
export function PayerWallet({ chain }: { chain: ChainInfo }) {
  const connection = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();
  const address = connection.status === 'connected' ? connection.address : undefined;
  const balance = useBalance({ address, chainId: chain.chainId, query: { enabled: address !== undefined, refetchInterval: BALANCE_POLL_MS } });

  if (connection.status !== 'connected') {
    return (
      <div className="panel">
        <p>Connect the wallet that pays for your requests. Payments go to the network's RevenueDistributor ({chain.distributor}), which shares them among the volunteers who trained the model.</p>
        {connectors.map((c) => (
          <button type="button" key={c.uid} className="primary" disabled={connect.isPending} onClick={() => connect.mutate({ connector: c, chainId: chain.chainId })}>
            Connect {c.name}
          </button>
        ))}{' '}
        {connection.status === 'connecting' || connection.status === 'reconnecting' ? <span className="muted">connecting…</span> : null}
        {connect.error && <p className="bad">Could not connect: {plainError(connect.error)}</p>}
      </div>
    );
  }

  return (
    <div className="panel">
      <div className="grid">
        <div className="stat wide">
          <span className="label">Paying wallet ({connection.connector.name})</span>
          <span className="value" data-testid="wallet-address">
            {connection.address}
          </span>
        </div>
        <div className="stat">
          <span className="label">Balance</span>
          <span className="value" data-testid="wallet-balance" data-wei={balance.data?.value.toString() ?? ''}>
            {balance.data === undefined ? '…' : `${formatEth(balance.data.value)} ETH`}
          </span>
        </div>
      </div>
      {connection.chainId !== chain.chainId && (
        <p className="bad">
          Your wallet is on chain {connection.chainId}; this network is paid on chain {chain.chainId}.{' '}
          <button type="button" onClick={() => switchChain.mutate({ chainId: chain.chainId })} disabled={switchChain.isPending}>
            Switch to chain {chain.chainId}
          </button>
          {switchChain.error && <> {plainError(switchChain.error)}</>}
        </p>
      )}
      <button type="button" onClick={() => disconnect.mutate()}>
        Disconnect
      </button>
    </div>
  );
}
