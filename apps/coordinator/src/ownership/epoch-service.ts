import { buildEpochTree, closeEpoch, createEpochState, entitlements } from '@openshard/ownership';
import type { EpochRecord, EpochStore, RunStore } from '../store/stores.ts';
import type { DistributorChain } from './distributor-chain.ts';

export interface EpochPolicy {
  /** An epoch closes once this many rounds are final since the last one… */
  everyRounds: number;
  /** …or once this much time has passed with at least one new final round (ms). */
  everyMs: number;
}

/** What epoch work tells its owner besides notices (for /metrics). */
export interface EpochEvents {
  /** This process published an epoch's root on chain. */
  published?(epoch: number): void;
  /** Closing or publishing an epoch failed (the chain's RPC, mostly); it is published after a later checkpoint. */
  failed?(e: Error): void;
}

/**
 * Turns committed work receipts into epochs: entitlements (the ownership package's math), a Merkle
 * tree with every holder's proof, stored, then the root published on chain. Only rounds before the
 * latest checkpoint are counted: a recovery never forgets them, so an epoch on chain never has
 * to be taken back.
 */
export class EpochService {
  constructor(
    private readonly store: RunStore,
    private readonly epochs: EpochStore,
    private readonly runId: string,
    private readonly chain: DistributorChain,
    private readonly policy: EpochPolicy,
    private readonly startedAt: number,
    private readonly events: EpochEvents = {},
  ) {}

  /** Rounds before `finalRound` are final (a checkpoint starts there): close an epoch if one is due, then publish. */
  async afterCheckpoint(finalRound: number, now: number): Promise<EpochRecord | null> {
    const last = await this.epochs.latest(this.runId);
    const from = last?.throughRound ?? 0;
    const due = finalRound - from >= this.policy.everyRounds || (finalRound > from && now - (last?.createdAt ?? this.startedAt) >= this.policy.everyMs);
    const closed = due ? await this.close(last, finalRound, now) : null;
    await this.publishPending();
    return closed;
  }

  /** Publishes stored epochs whose roots are not on chain yet, in order (after a crash, too). */
  async publishPending(): Promise<void> {
    for (const e of await this.epochs.unpublished(this.runId)) {
      const onChain = Number(await this.chain.currentEpoch());
      if (onChain >= e.epoch) {
        // mined before a crash lost the hash: the chain has it iff it is this epoch's root
        if (onChain === e.epoch && (await this.chain.root()) !== e.root) throw new Error(`epoch ${e.epoch} on chain has root ${await this.chain.root()}, not the stored ${e.root}`);
        await this.epochs.markPublished(this.runId, e.epoch, 'found-on-chain');
        continue;
      }
      await this.epochs.markPublished(this.runId, e.epoch, await this.chain.publishRoot(e.epoch, e.root, e.totalCumulative));
      this.events.published?.(e.epoch);
    }
  }

  private async close(last: EpochRecord | null, finalRound: number, now: number): Promise<EpochRecord | null> {
    const from = last?.throughRound ?? 0;
    const newShares = await this.store.shares(this.runId, finalRound, from);
    const totalDeposited = await this.chain.totalDeposited();
    const revenue = totalDeposited - (last?.totalDeposited ?? 0n);
    const state = closeEpoch(last?.state ?? createEpochState(), { newShares, revenue });
    const holders = entitlements(state);
    // nobody holds shares yet: no root to publish; the revenue waits for the next epoch
    if (holders.length === 0) return null;
    const tree = buildEpochTree({ chainId: this.chain.chainId, distributor: this.chain.distributor, holders });
    const record: EpochRecord = {
      epoch: state.epoch,
      throughRound: finalRound,
      revenue,
      totalDeposited,
      root: tree.root,
      totalCumulative: tree.total,
      state,
      tree: tree.dump(),
      createdAt: now,
      publishedTx: null,
    };
    await this.epochs.add(this.runId, record);
    return record;
  }
}
