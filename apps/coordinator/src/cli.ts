import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { DEFAULT_NETWORK, startNetwork } from './network.ts';
import { LOCAL_CHAIN_PORT, readChainConfig, startLocalChain, type LocalChain } from './ownership/local-chain.ts';

const USAGE = `usage: npm run coordinator -- [--preset tiny] [--shards 4] [--batch 4] [--micro-batches 4] [--rounds 2000]
  [--seed 1337] [--data brown|FILE|FOLDER] [--host 127.0.0.1] [--port 8600] [--volunteers N]
  [--data-dir data] [--local-chain | --chain FILE] [--epoch-rounds 50] [--epoch-minutes 10] [--web-origin http://127.0.0.1:5173] [--chain-id 31337] [--checkpoint-every 10] [--eval-every 10] [--eval-batches 4] [--reference RUN_FOLDER] [--exit-when-done] [--web]
--local-chain starts anvil (npm @foundry-rs/anvil) on 127.0.0.1:8545 (--chain-port) with its state in --data-dir and the
RevenueDistributor deployed (written to DATA_DIR/chain.json); --web implies it. --chain FILE uses any EVM network
instead: a JSON file { rpcUrl, chainId, distributor, publisherKey }. Epochs close every --epoch-rounds 50 rounds or
--epoch-minutes 10 minutes and their Merkle roots are published to the distributor.
--web-origin is where volunteers sign in from (SIWE domain and URI; default http://127.0.0.1:5173), --chain-id the chain
their sign-in names (default 31337, the local anvil).
--reference overlays the curve of \`npm run train\` in RUN_FOLDER (same batch, micro-batches, seed and rounds as steps) on the dashboard.
--web also serves the web app (apps/web) with Vite: this is what \`npm start\` runs.
The latest run in --data-dir resumes from its last checkpoint; the run options are those it was started with.`;

/** Dev accounts 0 and 1 administer and publish; local volunteers sign in from account 2 on. */
const LOCAL_VOLUNTEER_FIRST_ACCOUNT = 2;

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} is '${raw}'; it must be an integer ≥ ${min}`);
  return v;
}

async function main(): Promise<void> {
  const f = parseArgs({
    options: {
      preset: { type: 'string' }, shards: { type: 'string' }, batch: { type: 'string' }, 'micro-batches': { type: 'string' },
      rounds: { type: 'string' }, seed: { type: 'string' }, data: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
      volunteers: { type: 'string' }, 'data-dir': { type: 'string' }, 'checkpoint-every': { type: 'string' },
      'eval-every': { type: 'string' }, 'eval-batches': { type: 'string' }, reference: { type: 'string' }, 'web-origin': { type: 'string' }, 'chain-id': { type: 'string' },
      'local-chain': { type: 'boolean' }, 'chain-port': { type: 'string' }, chain: { type: 'string' }, 'epoch-rounds': { type: 'string' }, 'epoch-minutes': { type: 'string' }, 'exit-when-done': { type: 'boolean' }, web: { type: 'boolean' },
    },
    strict: true,
  }).values;
  const volunteers = int('volunteers', f.volunteers, 0, 0);
  const dataDir = f['data-dir'] ?? DEFAULT_NETWORK.dataDir;
  if (f.chain && f['local-chain']) throw new Error('give --chain FILE or --local-chain, not both');
  let localChain: LocalChain | null = null;
  if (f['local-chain'] || (f.web && !f.chain)) {
    mkdirSync(dataDir, { recursive: true });
    localChain = await startLocalChain(dataDir, int('chain-port', f['chain-port'], LOCAL_CHAIN_PORT, 0));
  }
  const chain = f.chain ? readChainConfig(f.chain) : localChain?.config;
  const children: ChildProcess[] = [];
  let lastRound = performance.now();
  const network = await startNetwork({
    preset: f.preset ?? DEFAULT_NETWORK.preset,
    shards: int('shards', f.shards, DEFAULT_NETWORK.shards, 1),
    batch: int('batch', f.batch, DEFAULT_NETWORK.batch, 1),
    microBatches: int('micro-batches', f['micro-batches'], DEFAULT_NETWORK.microBatches, 1),
    rounds: int('rounds', f.rounds, DEFAULT_NETWORK.rounds, 1),
    seed: int('seed', f.seed, DEFAULT_NETWORK.seed, 0),
    data: f.data ?? DEFAULT_NETWORK.data,
    host: f.host ?? DEFAULT_NETWORK.host,
    port: int('port', f.port, DEFAULT_NETWORK.port, 0),
    dataDir,
    checkpointEvery: int('checkpoint-every', f['checkpoint-every'], DEFAULT_NETWORK.checkpointEvery, 1),
    evalEvery: int('eval-every', f['eval-every'], DEFAULT_NETWORK.evalEvery, 1),
    evalBatches: int('eval-batches', f['eval-batches'], DEFAULT_NETWORK.evalBatches, 1),
    reference: f.reference,
    webOrigin: f['web-origin'] ?? DEFAULT_NETWORK.webOrigin,
    chainId: int('chain-id', f['chain-id'], chain?.chainId ?? DEFAULT_NETWORK.chainId, 1),
    chain,
    epochs: {
      everyRounds: int('epoch-rounds', f['epoch-rounds'], DEFAULT_NETWORK.epochs.everyRounds, 1),
      everyMs: int('epoch-minutes', f['epoch-minutes'], DEFAULT_NETWORK.epochs.everyMs / 60_000, 1) * 60_000,
    },
    onFinished: () => {
      console.log('the run is complete');
      if (f['exit-when-done']) void stop();
    },
    onRound: (s, c) => {
      const now = performance.now();
      const tokensPerSecond = (s.tokens / (now - lastRound)) * 1000;
      lastRound = now;
      console.log(`round ${s.round}: loss ${s.loss.toFixed(4)}, ${Math.round(tokensPerSecond)} tok/s, ${c.volunteers.size} volunteers`);
    },
  });
  const { server } = network;
  let web: { close(): Promise<void> } | null = null;
  if (f.web) {
    // the web app's dev server proxies /socket.io to this coordinator
    process.env.OPENSHARD_COORDINATOR_URL = server.url;
    const { createServer } = await import('vite');
    const vite = await createServer({ configFile: 'vite.config.ts', logLevel: 'warn' });
    await vite.listen();
    web = vite;
    const app = vite.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5173/';
    console.log(`web app: ${app} (contribute: ${app}#/contribute, dashboard: ${app}#/dashboard, earnings: ${app}#/earnings)`);
  }
  console.log(`${network.startRound ? `resumed run ${network.runId} at round ${network.startRound}` : `new run ${network.runId}`} (data in ${f['data-dir'] ?? DEFAULT_NETWORK.dataDir})`);
  console.log(`coordinator: ${server.url} (health: ${server.url}/health)`);
  console.log(`add a volunteer: npx openshard-volunteer --url ${server.url}`);
  if (chain) console.log(`chain: ${chain.rpcUrl} (chain id ${chain.chainId}), RevenueDistributor ${chain.distributor}; epochs every ${f['epoch-rounds'] ?? DEFAULT_NETWORK.epochs.everyRounds} rounds`);
  else console.log('no chain: work accrues shares to signed-in wallets, but no epoch is published (--local-chain or --chain FILE)');
  for (let i = 0; i < volunteers; i++) {
    // on the local chain each local volunteer signs in with a dev account (2, 3, …) so its work accrues
    const key = localChain?.devKeys[LOCAL_VOLUNTEER_FIRST_ACCOUNT + i];
    children.push(spawn(process.execPath, ['--import', 'tsx', 'packages/volunteer/src/cli.ts', '--url', server.url, '--name', `local-${i + 1}`], {
      stdio: ['ignore', 'ignore', 'inherit'], env: key ? { ...process.env, OPENSHARD_VOLUNTEER_KEY: key } : process.env,
    }));
  }
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  async function stop() {
    for (const c of children) c.kill('SIGTERM');
    await web?.close();
    await network.close();
    await localChain?.stop();
    process.exit(0);
  }
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}\n${USAGE}`);
  process.exit(1);
});
