/**
 * Which shard a joining volunteer should hold: the one whose work per round is largest relative
 * to the measured throughput already serving it (the pipeline's bottleneck). A volunteer not
 * yet measured counts as the median of those that are (or 1 when none is). Only shards `allowed`
 * (the volunteer's exposure budget) are considered.
 */
export interface ServingVolunteer {
  shard: number;
  /** Measured FLOPs per millisecond, null until a task has been timed. */
  throughput: number | null;
}

export function chooseShard(shardWork: readonly number[], serving: readonly ServingVolunteer[], allowed: (shard: number) => boolean = () => true): number {
  const measured = serving
    .map((v) => v.throughput)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const typical = measured.length ? measured[Math.floor(measured.length / 2)] : 1;
  const capacity = shardWork.map(() => 0);
  for (const v of serving) capacity[v.shard] += v.throughput ?? typical;
  let best = -1;
  let bestLoad = -1;
  shardWork.forEach((work, s) => {
    if (!allowed(s)) return;
    // an unserved shard blocks the whole round: infinitely loaded
    const load = capacity[s] === 0 ? Infinity : work / capacity[s];
    if (load > bestLoad) {
      best = s;
      bestLoad = load;
    }
  });
  if (best < 0) throw new Error('no shard is allowed for this volunteer');
  return best;
}
