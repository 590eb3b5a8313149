/**
 * What the coordinator needs before it serves callers well: the store answers, the chain's RPC
 * answers (when there is a chain), a model is served. `GET /ready` runs every check and names
 * each one that fails, in plain words; `GET /health` only says the process serves.
 *
 * Readiness is for what callers use (the inference API, payments, epochs). Volunteers' sockets
 * need only liveness: a load balancer that cut them off on /ready would keep a new run from ever
 * writing the checkpoint that makes its model ready.
 */

/** How long one check may take before it counts as not ready (ms): an RPC that slow is down for callers too. */
export const READINESS_TIMEOUT_MS = 2_000;

/** One thing to check; `check` resolves to null when ready, else to why not. A throw or a timeout is a reason too. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<string | null>;
}

export interface CheckResult {
  name: string;
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
}

/** Runs every check at once, each within `timeoutMs`. */
export function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs = READINESS_TIMEOUT_MS): Promise<CheckResult[]> {
  return Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const reason = await Promise.race([c.check(), late]);
    return reason === null ? { name: c.name, ready: true } : { name: c.name, ready: false, reason };
  } catch (e) {
    return { name: c.name, ready: false, reason: firstLine(e) };
  } finally {
    clearTimeout(timer);
  }
}

/** A check that `probe` answers; its failure says `what` does not answer, and why. */
function answering(name: string, what: string, probe: () => Promise<unknown>): ReadinessCheck {
  return {
    name,
    async check() {
      try {
        await probe();
        return null;
      } catch (e) {
        return `${what} does not answer: ${firstLine(e)}`;
      }
    },
  };
}

/** The store answers a query. */
export function storeCheck(runs: { latestRun(): Promise<unknown> }): ReadinessCheck {
  return answering('store', 'the store', () => runs.latestRun());
}

/** The chain's RPC answers a read of the distributor. */
export function chainCheck(chain: { currentEpoch(): Promise<bigint> }, rpcUrl: string): ReadinessCheck {
  return answering('chain', `the chain RPC at ${rpcUrl}`, () => chain.currentEpoch());
}

/** A model is served (the API answers 503 model_not_ready until one is). */
export function modelCheck(served: () => boolean): ReadinessCheck {
  return {
    name: 'model',
    check: async () => (served() ? null : 'no model is served: no checkpoint has been committed yet (one is written every --checkpoint-every rounds), or it failed to load'),
  };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
