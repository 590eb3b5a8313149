/** A model configuration is impossible (heads not dividing the width, more shards than layers…). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A tensor handed to a shard does not fit it. Nothing was computed. */
export class ShardInputError extends Error {
  override name = 'ShardInputError';
}

/** Checkpoint bytes are malformed or do not match the model they are loaded into. Nothing was loaded. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}
