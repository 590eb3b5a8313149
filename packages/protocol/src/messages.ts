import { TASK_KINDS } from '@openshard/model/shard-spec';
import { DTYPES } from '@openshard/tensor/dtype';
import { z } from 'zod';
import { CODEC_NAMES } from './codecs.ts';
import { TRAFFIC_MODES } from './traffic.ts';

/**
 * Every message between coordinator and volunteer, as runtime schemas. JSON only: tensors are
 * declared here by header and travel as binary attachments in the same order.
 */
const id = z.string().min(1).max(128);
const count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
/** onnxruntime-web's execution providers a volunteer serves with. */
export const SERVING_BACKENDS = ['webgpu', 'wasm'] as const;
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const tensorHeader = z.strictObject({
  name: z.string().min(1).max(128),
  dtype: z.enum(DTYPES),
  shape: z
    .array(
      z
        .number()
        .int()
        .min(1)
        .max(2 ** 31 - 1),
    )
    .min(1),
  codec: z.enum(CODEC_NAMES),
});

export const taskKind = z.enum(TASK_KINDS);

export const gptConfig = z.strictObject({
  vocabSize: count,
  contextLength: count,
  layers: count,
  heads: count,
  width: count,
});

export const shardSpec = z.strictObject({ index: count, count: count, firstLayer: count, endLayer: count });

/** Volunteer → coordinator. */
export const clientMessages = {
  /** First message on a connection. */
  hello: z.strictObject({
    protocol: z.number().int(),
    name: z.string().min(1).max(64),
    backend: z.enum(['cpu', 'webgpu']),
    adapter: z.string().max(128).optional(),
    /** A session token from sign-in; without one the volunteer contributes but accrues nothing. */
    session: z.string().max(512).optional(),
  }),
  /** The volunteer holds this version of its shard's weights and can take tasks. */
  ready: z.strictObject({ shard: count, version: count }),
  result: z.strictObject({
    leaseId: id,
    /** Time spent computing, measured by the volunteer (ms). */
    computeMs: finite.min(0),
    /** Mean loss of the micro-batch, from lossAndBackward. */
    loss: finite.optional(),
    tensors: z.array(tensorHeader),
  }),
  /**
   * Compact traffic: the sum, in micro-batch order, of the parameter gradients of this round's
   * tasks `microBatches` of `shard` that the volunteer computed and kept, in answer to `collect`.
   */
  gradients: z.strictObject({ round: count, shard: count, microBatches: z.array(count).min(1).max(4096), tensors: z.array(tensorHeader) }),
  /** Gives a leased task back (paused, throttled, backgrounded) so it is re-issued at once. */
  giveBack: z.strictObject({ leaseId: id, reason: z.string().max(200) }),
  /** Whether the volunteer takes tasks now (paused, resting between tasks to keep its duty cycle). */
  availability: z.strictObject({ accepting: z.boolean(), reason: z.string().max(200) }),
  /** The volunteer serves `shard` of the served model `modelId` with onnxruntime-web's `backend` (after `serveShard`). */
  serving: z.strictObject({ modelId: id, shard: count, backend: z.enum(SERVING_BACKENDS) }),
  /** The output of a generation step: hidden states [1, T, C], or logits [1, T, V] on the last shard. */
  stepped: z.strictObject({ generation: id, step: count, tensors: z.array(tensorHeader) }),
  /** A generation step the volunteer could not run (its message says why). */
  stepFailed: z.strictObject({ generation: id, step: count, message: z.string().max(500) }),
} as const;

/** Coordinator → volunteer. */
export const serverMessages = {
  welcome: z.strictObject({
    protocol: z.number().int(),
    volunteerId: id,
    /** `traffic`: how the volunteer sends boundary tensors and gradient sums (docs/traffic.md). */
    run: z.strictObject({ id, config: gptConfig, shards: count, batch: count, traffic: z.enum(TRAFFIC_MODES) }),
  }),
  /**
   * The volunteer's shard and its weights at `version`; only that shard's parameters. With `base`,
   * the tensors are the update from version `base` (which the volunteer holds): each weight at
   * `version` is its value at `base` plus the update's, rounded to fp32 (`applyUpdate`).
   */
  weights: z.strictObject({ shard: shardSpec, version: count, base: count.optional(), tensors: z.array(tensorHeader) }),
  task: z.strictObject({
    leaseId: id,
    kind: taskKind,
    shard: count,
    round: count,
    microBatch: count,
    /** The weights version the task must run on. */
    version: count,
    /** Milliseconds from receipt until the lease expires and the task is re-issued. */
    deadlineMs: count,
    /** lossAndBackward: ∂L/∂loss_n of each target. */
    lossScale: finite.optional(),
    /**
     * Compact traffic: the result carries no parameter gradients; the volunteer keeps them until
     * `collect` asks for their sum.
     */
    keepGradients: z.boolean().optional(),
    tensors: z.array(tensorHeader),
  }),
  /** Compact traffic: send the sum of the kept parameter gradients of these micro-batches of `shard` in `round` (answered by `gradients`). */
  collect: z.strictObject({ round: count, shard: count, microBatches: z.array(count).min(1).max(4096) }),
  /** The task is no longer needed (another copy won, or the round moved on). */
  cancel: z.strictObject({ leaseId: id, reason: z.string().max(200) }),
  /** The volunteer's result was accepted: it earns these work units (FLOPs). */
  accepted: z.strictObject({ leaseId: id, round: count, flops: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  /** Serve this shard of the served model (a committed checkpoint): its weights, for an ONNX graph with a KV cache. */
  serveShard: z.strictObject({ modelId: id, config: gptConfig, shard: shardSpec, tensors: z.array(tensorHeader) }),
  /**
   * T new positions of a generation through the volunteer's served shard: token ids i32 [1, T] on
   * shard 0, else hidden states f32 [1, T, C]. `step` 0 starts the generation afresh (a replay
   * after a lost server starts again from the whole prefix).
   */
  step: z.strictObject({ generation: id, step: count, modelId: id, shard: count, past: count, tensors: z.array(tensorHeader) }),
  /** The generation is over (or moved elsewhere): its KV cache can go. */
  endGeneration: z.strictObject({ generation: id }),
  /** A message of the volunteer's was refused and not applied. */
  refused: z.strictObject({ code: z.string(), message: z.string(), leaseId: id.optional() }),
  /**
   * The run is complete: nothing more to train (the served model is still served). `round` counts
   * the rounds completed, N (not the last round's index), as `message` says in words: 'the run is
   * complete after N rounds; nothing more to train'. Sent when the last round closes and after any
   * later hello; a volunteer older than this message ignores it.
   */
  finished: z.strictObject({ round: count, message: z.string().max(200) }),
} as const;

export type ClientMessageType = keyof typeof clientMessages;
export type ServerMessageType = keyof typeof serverMessages;
export type ClientMessage<K extends ClientMessageType> = z.infer<(typeof clientMessages)[K]>;
export type ServerMessage<K extends ServerMessageType> = z.infer<(typeof serverMessages)[K]>;
export type { TaskKind } from '@openshard/model/shard-spec';
