import type { CheckpointView } from '@openshard/protocol';
import { useEffect, useState } from 'react';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { fetchLatestCheckpoint } from './checkpoint.ts';

export interface LatestCheckpoint {
  /** false until the first answer. */
  loaded: boolean;
  /** null while none is committed. */
  checkpoint: CheckpointView | null;
  /** Why it could not be read; the last checkpoint read stays shown. */
  problem: string | null;
}

/** GET /checkpoints/latest, again whenever `refreshKey` changes (`checkpointRefreshKey`); an answer to an older key is dropped. */
export function useLatestCheckpoint(refreshKey: string): LatestCheckpoint {
  const [state, setState] = useState<LatestCheckpoint>({ loaded: false, checkpoint: null, problem: null });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is the reason to fetch again
  useEffect(() => {
    let current = true;
    (async () => {
      try {
        const checkpoint = await fetchLatestCheckpoint(coordinatorUrl());
        if (current) setState({ loaded: true, checkpoint, problem: null });
      } catch (e) {
        if (current) setState((s) => ({ ...s, loaded: true, problem: (e as Error).message }));
      }
    })();
    return () => {
      current = false;
    };
  }, [refreshKey]);
  return state;
}
