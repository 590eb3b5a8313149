/** Per-message limits. A deployment may raise the byte limits for larger presets. */
export interface ProtocolLimits {
  /** Largest whole message (JSON and binary attachments), the Socket.IO frame limit. */
  maxMessageBytes: number;
  /** Largest JSON part of a message, as UTF-8. */
  maxJsonBytes: number;
  /** Most tensors one message carries (a shard's weights or gradients). */
  maxTensors: number;
  /** Most dimensions of one tensor. */
  maxRank: number;
  /** Longest name (tensor names, volunteer names, ids). */
  maxNameLength: number;
  /**
   * Largest magnitude of a float in a checked tensor (with `finite`). Honest activations and
   * gradients stay many orders below it; a larger finite value would overflow float32 downstream
   * (a LayerNorm's mean square over a row, AdamW's second moment) and harm honest volunteers and the
   * model without being NaN on the wire.
   */
  maxMagnitude: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = {
  // the tiny preset's largest message (all of shard 0's weights, f32) is ~2 MiB; small's ~30 MiB
  maxMessageBytes: 64 * 1024 * 1024,
  maxJsonBytes: 256 * 1024,
  maxTensors: 512,
  maxRank: 4,
  maxNameLength: 128,
  maxMagnitude: 1e9,
};

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * What a volunteer checks the coordinator's messages with: finiteness, not size. The coordinator
 * held what volunteers sent it to `maxMagnitude` and computed the rest itself, and a deployment
 * may raise its limit; a task must never be dropped for a value the coordinator took.
 */
export const SERVER_MESSAGE_LIMITS: ProtocolLimits = { ...DEFAULT_LIMITS, maxMagnitude: FLOAT32_MAX };
