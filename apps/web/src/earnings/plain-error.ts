import { revertErrorName } from '@openshard/contracts';
import { BaseError } from 'viem';

/** What went wrong, in one line for people: viem's short message, and the contract's revert name when there is one. */
export function plainError(error: unknown): string {
  const reverted = revertErrorName(error);
  if (reverted) return `the contract refused it (${reverted})`;
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}
