import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Parses argv strictly; an unknown flag or a missing value is an error that names it. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A flag that must be a number in [min, max]; integers only when `integer`. */
export function numberFlag(name: string, raw: string | undefined, fallback: number, min: number, max = Infinity, integer = true): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
    throw new UsageError(`--${name} is '${raw}'; it must be ${integer ? 'an integer' : 'a number'} ${range}`);
  }
  return v;
}

/** Runs a CLI's main, printing errors as one message (no stack) for the errors users cause. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: Error) => {
    const known = ['UsageError', 'CheckpointError', 'ConfigError', 'RangeError', 'ShardInputError', 'WebGpuUnavailableError'];
    console.error(known.includes(e.name) ? `error: ${e.message}` : e);
    process.exit(1);
  });
}
