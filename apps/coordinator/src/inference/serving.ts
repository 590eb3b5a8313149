import * as ort from 'onnxruntime-web';
import { due, type AfterRoundStep } from '../after-round/after-round.ts';
import { openAiRoutes } from '../http/openai-routes.ts';
import type { DistributorChain } from '../ownership/distributor-chain.ts';
import { PaymentGate, type PaymentChain, type PaymentPolicy } from '../payments/payment-gate.ts';
import type { Stores } from '../store/stores.ts';
import type { ServingLive } from '@openshard/protocol';
import type { Coordinator } from '../coordinator.ts';
import { ServingRouter } from './router.ts';
import { ModelServer } from './served-model.ts';
import { modelKey, ServingHub } from './serving-hub.ts';
import { servingPolicy } from './serving-policy.ts';
import { ServingRoster } from './serving-roster.ts';
import { ServingStats } from './serving-stats.ts';

export interface ServingOptions {
  /** The name callers give as `model` (`openshard-<preset>`). */
  modelId: string;
  shards: number;
  payments: PaymentPolicy;
  /** A checkpoint folder to serve instead of the latest the run commits. */
  pinned: string | null;
  checkpointEvery: number;
  /** How far a volunteer's serving output may be from the coordinator's (relative), as for training results. */
  tolerance: number;
}

export interface Serving {
  models: ModelServer;
  gate: PaymentGate;
  stats: ServingStats;
  hub: ServingHub;
  routes: ReturnType<typeof openAiRoutes>;
  /** After each checkpoint: serve it (loaded off the training path). */
  step: AfterRoundStep;
  /** What the dashboard shows of serving now; null while nothing is served. */
  live(): ServingLive | null;
  close(): Promise<void>;
}

/**
 * Inference, wired: the model server (the latest committed checkpoint, in onnxruntime), the
 * payment gate (quotes in the store, payments read from the distributor) and the OpenAI API.
 */
export async function startServing(stores: Stores, runId: string, chain: DistributorChain | null, coordinator: () => Coordinator, o: ServingOptions): Promise<Serving> {
  // one thread: serving shares the machine with training and must not take every core
  ort.env.wasm.numThreads = 1;
  const roster = new ServingRoster();
  const hub = new ServingHub(roster, coordinator);
  const policy = servingPolicy(coordinator, hub, o.tolerance);
  const models = new ModelServer(
    o.modelId,
    o.shards,
    o.pinned,
    (m) => new ServingRouter(modelKey(m), m.local, m.config.width, roster, hub, policy),
    (m) => hub.serve(m),
  );
  const gate = new PaymentGate(stores.payments, chain ? paymentChain(chain) : null, o.payments);
  const stats = new ServingStats();
  const latest = async () => {
    const run = await stores.runs.latestRun();
    return run?.id === runId ? run.checkpoint : null;
  };
  const serveLatest = async () => models.offer(await latest()).catch((e) => console.error('coordinator: could not serve the latest checkpoint:', e));
  await serveLatest();
  const step: AfterRoundStep = {
    name: 'serve',
    run(r) {
      if (due(o.checkpointEvery, r)) void serveLatest();
    },
  };
  const live = (): ServingLive | null => {
    const m = models.current;
    if (!m) return null;
    const { requests, failed, tokens, tokensPerSecond, ttftMs } = stats;
    return { model: m.id, checkpoint: modelKey(m).split('@')[1], requests, failed, tokens, tokensPerSecond, ttftMs, serversPerShard: roster.count(modelKey(m), m.specs.length) };
  };
  return { models, gate, stats, hub, live, routes: openAiRoutes({ models, gate, stats }), step, close: () => models.close() };
}

/** The payment gate's view of the distributor. */
export function paymentChain(chain: DistributorChain): PaymentChain {
  return { chainId: chain.chainId, payTo: chain.distributor, paidFor: (id, confirmations) => chain.paid(id, confirmations) };
}
