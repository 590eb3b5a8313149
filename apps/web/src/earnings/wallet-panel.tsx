import { useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from 'wagmi';
import type { ChainInfo } from './chain-info.ts';
import { formatEth } from './format-wei.ts';
import { plainError } from './plain-error.ts';

/** Connect a wallet (one button per connector), and the connected address, balance and chain. */
export function WalletPanel({ chain, balance }: { chain: ChainInfo; balance: bigint | undefined }) {
  const connection = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();

  if (connection.status !== 'connected') {
    return (
      <div className="panel">
        <p>Connect the wallet your share of the model's revenue should go to.</p>
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
        {/* an address is 42 characters: wider than one grid column */}
        <div className="stat" style={{ gridColumn: 'span 2' }}>
          <span className="label">Wallet ({connection.connector.name})</span>
          <span className="value" data-testid="wallet-address" style={{ overflowWrap: 'anywhere' }}>
            {connection.address}
          </span>
        </div>
        <div className="stat">
          <span className="label">Balance</span>
          <span className="value" data-testid="wallet-balance" data-wei={balance?.toString() ?? ''}>
            {balance === undefined ? '…' : `${formatEth(balance)} ETH`}
          </span>
        </div>
      </div>
      {connection.chainId !== chain.chainId && (
        <p className="bad">
          Your wallet is on chain {connection.chainId}; revenue is claimed on chain {chain.chainId}.{' '}
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
