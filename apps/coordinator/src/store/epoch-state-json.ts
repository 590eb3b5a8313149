import type { EpochState, HolderAccount } from '@openshard/ownership';
import type { Address } from 'viem';

/** EpochState as JSON: every BigInt a decimal string, holders as [address, account] pairs. */
interface EpochStateJson {
  epoch: number;
  totalShares: string;
  accPerShare: string;
  carried: string;
  remainder: string;
  totalRevenue: string;
  holders: [Address, { shares: string; accrued: string; checkpoint: string }][];
}

export function encodeEpochState(s: EpochState): string {
  const json: EpochStateJson = {
    epoch: s.epoch,
    totalShares: String(s.totalShares),
    accPerShare: String(s.accPerShare),
    carried: String(s.carried),
    remainder: String(s.remainder),
    totalRevenue: String(s.totalRevenue),
    holders: [...s.holders].map(([a, h]) => [a, { shares: String(h.shares), accrued: String(h.accrued), checkpoint: String(h.checkpoint) }]),
  };
  return JSON.stringify(json);
}

export function decodeEpochState(text: string): EpochState {
  const s = JSON.parse(text) as EpochStateJson;
  return {
    epoch: s.epoch,
    totalShares: BigInt(s.totalShares),
    accPerShare: BigInt(s.accPerShare),
    carried: BigInt(s.carried),
    remainder: BigInt(s.remainder),
    totalRevenue: BigInt(s.totalRevenue),
    holders: new Map<Address, HolderAccount>(s.holders.map(([a, h]) => [a, { shares: BigInt(h.shares), accrued: BigInt(h.accrued), checkpoint: BigInt(h.checkpoint) }])),
  };
}
