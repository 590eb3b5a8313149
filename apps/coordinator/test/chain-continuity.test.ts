import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@openshard/tensor';
import { signIn, VolunteerClient } from '@openshard/volunteer';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { checkChainContinuity } from '../src/ownership/chain-continuity.ts';
import { distributorChain, type ChainConfig } from '../src/ownership/distributor-chain.ts';
import { CHAIN_FILE, startLocalChain, type LocalChain } from '../src/ownership/local-chain.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions } from '../src/start-coordinator.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';

const ANVIL_STATE_FILE = 'anvil-state.json';
/** Dev accounts 0 and 1 administer and publish (startLocalChain); volunteers sign in from account 2 on. */
const FIRST_VOLUNTEER_ACCOUNT = 2;
/** Three rounds of the micro preset on two Node volunteers take a few seconds; the rest is margin for a busy machine. */
const TRAIN_TIMEOUT_MS = 40_000;

const dirs: string[] = [];
const chains: LocalChain[] = [];
afterAll(async () => {
  for (const c of chains) await c.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'openshard-continuity-'));
  dirs.push(d);
  return d;
}

async function localChain(dataDir: string): Promise<LocalChain> {
  const chain = await startLocalChain(dataDir, 0);
  chains.push(chain);
  return chain;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const readChainFile = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, CHAIN_FILE), 'utf8')) as ChainConfig;

/** An epoch every round and a checkpoint every round: the first checkpoint publishes epoch 1. */
function coordinatorOptions(dataDir: string, chain: ChainConfig): CoordinatorOptions {
  return {
    ...DEFAULT_COORDINATOR,
    preset: 'micro',
    shards: 2,
    batch: 1,
    microBatches: 2,
    rounds: 3,
    port: 0,
    dataDir,
    checkpointEvery: 1,
    evalEvery: 100,
    evalBatches: 1,
    chainId: chain.chainId,
    chain,
    epochs: { everyRounds: 1, everyMs: 3_600_000 },
    trust: null,
    standIn: null,
  };
}

/** A data folder whose run has published at least one epoch to its local chain; the chain saved its state and stopped. */
let trained: { dataDir: string; runId: string; published: number; distributor: string };

beforeAll(async () => {
  const dataDir = freshDir();
  const chain = await localChain(dataDir);
  const network = await startCoordinator(coordinatorOptions(dataDir, chain.config));
  const volunteers: VolunteerClient[] = [];
  try {
    for (const i of [0, 1]) {
      const { sessionToken } = await signIn(network.server.url, privateKeyToAccount(chain.devKeys[FIRST_VOLUNTEER_ACCOUNT + i]));
      const v = new VolunteerClient({ url: network.server.url, name: `v${i}`, backend: new CpuBackend(), session: sessionToken });
      v.start();
      volunteers.push(v);
    }
    // expect.poll is for tests only; vi.waitFor works in hooks
    await vi.waitFor(
      async () => {
        if (!(await network.stores.epochs.latestPublished(network.runId))) throw new Error(`no epoch of run ${network.runId} published yet`);
      },
      { timeout: TRAIN_TIMEOUT_MS, interval: 100 },
    );
  } finally {
    for (const v of volunteers) await v.stop();
    await network.close();
    await chain.stop();
  }
  const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
  const published = (await stores.epochs.latestPublished(network.runId))!.epoch;
  await stores.close();
  trained = { dataDir, runId: network.runId, published, distributor: chain.config.distributor };
}, 60_000);

/** A copy of the trained data folder, so each test may change its own. */
function copyOfTrained(): string {
  const d = freshDir();
  cpSync(trained.dataDir, d, { recursive: true });
  return d;
}

describe('a data folder whose epochs were published is refused a chain that lost them (real anvil, real coordinator)', () => {
  test('behavior: restarted with the chain state kept, the local chain keeps its distributor and the run resumes', async () => {
    const dataDir = copyOfTrained();
    const chain = await localChain(dataDir);
    // anvil listens on another port (0: the OS picks one); chain.json follows it and keeps the deployment
    expect(chain.config.distributor).toBe(trained.distributor);
    expect(readChainFile(dataDir)).toEqual(chain.config);
    expect(Number(await distributorChain(chain.config).currentEpoch())).toBeGreaterThanOrEqual(trained.published);
    const network = await startCoordinator(coordinatorOptions(dataDir, chain.config));
    try {
      expect(network).toMatchObject({ resumed: true, runId: trained.runId });
    } finally {
      await network.close();
      await chain.stop();
    }
  });

  test('error: anvil restarted without its state gets a new deployment; the coordinator refuses to start, naming the epoch, the folder and what to do', async () => {
    const dataDir = copyOfTrained();
    rmSync(join(dataDir, ANVIL_STATE_FILE));
    const chain = await localChain(dataDir);
    // the new deployment is what chain.json names now
    expect(readChainFile(dataDir)).toEqual(chain.config);
    expect(Number(await distributorChain(chain.config).currentEpoch())).toBe(0);
    try {
      const refused = startCoordinator(coordinatorOptions(dataDir, chain.config));
      await expect(refused).rejects.toThrow(`epoch ${trained.published} of run ${trained.runId} in ${dataDir} was published`);
      await expect(refused).rejects.toThrow(`the distributor ${chain.config.distributor} is at epoch 0`);
      await expect(refused).rejects.toThrow(/Restore the chain's state .*; or start a new run in a new --data-dir/);
    } finally {
      await chain.stop();
    }
    // the refusal closed the store: the folder opens again
    const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
    expect((await stores.epochs.latestPublished(trained.runId))!.epoch).toBe(trained.published);
    await stores.close();
  });

  test('error: a chain file naming an address with no contract is refused, saying there is no contract there', async () => {
    const dataDir = copyOfTrained();
    const chain = await localChain(dataDir);
    const nowhere = { ...chain.config, distributor: '0x000000000000000000000000000000000000dEaD' };
    const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
    try {
      await expect(checkChainContinuity(distributorChain(nowhere), stores.epochs, trained.runId, dataDir)).rejects.toThrow(
        `epoch ${trained.published} of run ${trained.runId} in ${dataDir} was published, but there is no contract at 0x000000000000000000000000000000000000dEaD`,
      );
    } finally {
      await stores.close();
      await chain.stop();
    }
  });

  test('behavior: an unreachable chain does not block start-up (the epoch publisher retries)', async () => {
    const dataDir = copyOfTrained();
    const unreachable = distributorChain({ ...readChainFile(dataDir), rpcUrl: `http://127.0.0.1:${await closedPort()}` });
    await expect(unreachable.currentEpoch()).rejects.toThrow();
    const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
    try {
      await expect(checkChainContinuity(unreachable, stores.epochs, trained.runId, dataDir)).resolves.toBeUndefined();
    } finally {
      await stores.close();
    }
  });
});
