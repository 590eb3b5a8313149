import { useState } from 'react';
import type { Address } from 'viem';
import { useConfig, useWriteContract } from 'wagmi';
import { formatFlops, formatPercent } from '../dashboard/format.ts';
import type { ChainInfo } from './chain-info.ts';
import { type ClaimResult, claimEntitlement, describeClaim } from './claim.ts';
import { formatEth, parseWei } from './format-wei.ts';
import { plainError } from './plain-error.ts';
import type { EpochView, OwnershipView } from '@openshard/protocol';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { fetchOwnership } from './use-ownership.ts';

type ClaimStatus = { kind: 'idle' } | { kind: 'pending' } | { kind: 'done'; text: string } | { kind: 'failed'; text: string };

/** Digits shown for the share of total (percent). */
const SHARE_PERCENT_DIGITS = 4;

function Wei({ testId, label, wei }: { testId: string; label: string; wei: string }) {
  return (
    <div className="stat">
      <span className="label">{label}</span>
      <span className="value" data-testid={testId} data-wei={wei}>
        {formatEth(wei)} ETH
      </span>
    </div>
  );
}

/** The address's shares, its entitlement in the latest epoch, and the Claim button. */
export function OwnershipPanel(p: { chain: ChainInfo; account: Address; ownership: OwnershipView | undefined; problem: string | null; onClaimed: () => void }) {
  const config = useConfig();
  const write = useWriteContract();
  const [claim, setClaim] = useState<ClaimStatus>({ kind: 'idle' });
  const o = p.ownership;
  const epoch = o?.epoch ?? null;

  const claimNow = async () => {
    if (!epoch) return;
    setClaim({ kind: 'pending' });
    try {
      // the proof must be for the root on chain when the claim is mined: take the newest, and if a
      // new root landed in between (the claim reverts), once more with the proof for that one
      const send = (e: EpochView) => claimEntitlement(config, (v) => write.mutateAsync(v), { distributor: p.chain.distributor, chainId: p.chain.chainId, account: p.account, epoch: e });
      const newest = async () => (await fetchOwnership(coordinatorUrl(), p.account)).epoch ?? epoch;
      const first = await newest();
      let result: ClaimResult;
      try {
        result = await send(first);
      } catch (e) {
        const again = await newest();
        if (again.epoch === first.epoch) throw e;
        result = await send(again);
      }
      setClaim({ kind: 'done', text: describeClaim(result) });
    } catch (e) {
      setClaim({ kind: 'failed', text: `Claim failed: ${plainError(e)}` });
    } finally {
      p.onClaimed();
    }
  };

  if (!o) return <div className="panel">{p.problem ? <p className="bad">{p.problem}</p> : <p className="muted">Loading your ownership…</p>}</div>;
  const claimable = epoch ? parseWei(epoch.claimable) : 0n;

  return (
    <div className="panel">
      <div className="grid">
        <div className="stat">
          {/* the exact count first: it is what claim() is proven against */}
          <span className="label">Shares (accepted work)</span>
          <span className="value" data-testid="earnings-shares" data-shares={o.shares}>
            {o.shares} FLOP <span className="muted">({formatFlops(Number(o.shares))})</span> · {formatPercent(o.shareOfTotal, SHARE_PERCENT_DIGITS)} of total
          </span>
        </div>
        {epoch && (
          <>
            <div className="stat">
              <span className="label">Latest epoch</span>
              <span className="value" data-testid="earnings-epoch">
                {epoch.epoch}
              </span>
            </div>
            <Wei testId="earnings-entitlement" label="Entitlement (cumulative)" wei={epoch.entitlement} />
            <Wei testId="earnings-claimed" label="Claimed" wei={epoch.claimed} />
            <Wei testId="earnings-claimable" label="Claimable now" wei={epoch.claimable} />
          </>
        )}
      </div>
      {!epoch && (
        <p className="muted" data-testid="earnings-no-epoch">
          Nothing to claim: no epoch published yet that includes this address.
        </p>
      )}
      {p.problem && <p className="bad">{p.problem}</p>}
      <p>
        <button type="button" className="primary" disabled={claimable <= 0n || claim.kind === 'pending'} onClick={() => void claimNow()}>
          {claim.kind === 'pending' ? 'Claiming…' : 'Claim'}
        </button>
      </p>
      {(claim.kind === 'done' || claim.kind === 'failed') && (
        <p className={claim.kind === 'done' ? 'ok' : 'bad'} data-testid="claim-result">
          {claim.text}
        </p>
      )}
    </div>
  );
}
