import { BaseError, ContractFunctionRevertedError } from 'viem';

/**
 * The custom error a contract call or simulation reverted with, e.g. 'NothingToClaim' or
 * 'AccessControlUnauthorizedAccount'; undefined when the failure was not a decoded revert.
 */
export function revertErrorName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined;
}
