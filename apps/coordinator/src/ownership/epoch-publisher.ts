import type { EpochEvents, EpochService } from './epoch-service.ts';

type Notice = (text: string) => void;

/**
 * Epochs go to the chain off the training path: each piece of work is queued behind the previous
 * one, so epochs close and publish in order, and a slow or failing RPC never holds up a round
 * (a failure is reported and the epoch is published after a later checkpoint).
 */
export class EpochPublisher {
  private work: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly service: EpochService,
    private readonly notice: Notice,
    private readonly events: Pick<EpochEvents, 'failed'> = {},
  ) {}

  /** Rounds before `finalRound` are final: close an epoch if one is due, and publish. */
  afterCheckpoint(finalRound: number): void {
    this.queue(async () => {
      const e = await this.service.afterCheckpoint(finalRound, Date.now());
      if (e) this.notice(`epoch ${e.epoch} closed through round ${e.throughRound}: ${e.state.holders.size} holders, ${e.totalCumulative} wei entitled in all, root ${e.root.slice(0, 10)}… published`);
    }, 'epoch not published');
  }

  /** Epochs stored before a crash and not yet on chain. */
  publishPending(): void {
    this.queue(() => this.service.publishPending(), 'pending epochs not published');
  }

  /** Resolves when the queued work is done (for a clean close). */
  idle(): Promise<unknown> {
    return this.work;
  }

  private queue(job: () => Promise<unknown>, failure: string): void {
    this.work = this.work.then(job).catch((e: Error) => {
      this.events.failed?.(e);
      this.notice(`${failure}: ${e.message.split('\n')[0]}`);
    });
  }
}
