import type { ServingBackend } from '@openshard/volunteer/serving';

/** A volunteer that serves one shard of the served model. */
export interface Server {
  volunteerId: string;
  name: string;
  modelId: string;
  shard: number;
  backend: ServingBackend;
  /** Generations it holds a KV cache for now. */
  load: number;
  /** Positions of completed generations it served (and was credited for). */
  served: number;
}

/** Who serves which shard of which model; a server leaves on disconnect, pause or failure. */
export class ServingRoster {
  private readonly servers = new Map<string, Server>();

  add(s: Omit<Server, 'load' | 'served'>): void {
    const known = this.servers.get(s.volunteerId);
    this.servers.set(s.volunteerId, { ...s, load: known?.load ?? 0, served: known?.served ?? 0 });
  }

  remove(volunteerId: string): boolean {
    return this.servers.delete(volunteerId);
  }

  get(volunteerId: string): Server | undefined {
    return this.servers.get(volunteerId);
  }

  /** The least loaded server of the shard, other than `excluded`; null when nobody serves it. */
  pick(modelId: string, shard: number, excluded: ReadonlySet<string>): Server | null {
    let best: Server | null = null;
    for (const s of this.servers.values()) {
      if (s.modelId !== modelId || s.shard !== shard || excluded.has(s.volunteerId)) continue;
      if (!best || s.load < best.load) best = s;
    }
    return best;
  }

  /** How many volunteers serve each shard of `modelId`. */
  count(modelId: string, shards: number): number[] {
    const n = new Array<number>(shards).fill(0);
    for (const s of this.servers.values()) if (s.modelId === modelId && s.shard < shards) n[s.shard]++;
    return n;
  }

  all(): Server[] {
    return [...this.servers.values()];
  }
}
