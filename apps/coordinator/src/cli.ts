import { TRAFFIC_MODES, type Traffic } from '@openshard/protocol';
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import type { Coordinator } from './coordinator.ts';
import { staticRoutes } from './http/static-routes.ts';
import type { ChainConfig } from './ownership/distributor-chain.ts';
import { LOCAL_CHAIN_PORT, readChainConfig, startLocalChain, type LocalChain } from './ownership/local-chain.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions, type RunningCoordinator } from './start-coordinator.ts';
import { ignoredOnResume } from './run/run-spec.ts';
import { DEFAULT_STAND_IN } from './training/stand-in.ts';
import type { RoundSummary } from './training/training-run.ts';
import { DEFAULT_TRUST, type TrustPolicy } from './trust/trust-book.ts';
import { ensureWebBuild } from './web-build.ts';

const USAGE = `usage: npm run coordinator -- [--preset tiny] [--shards 4] [--batch 4] [--micro-batches 4] [--rounds 2000]
  [--seed 1337] [--data brown|FILE|FOLDER] [--host 127.0.0.1] [--port 8600] [--volunteers N]
  [--data-dir data] [--local-chain | --chain FILE] [--chain-port 8545] [--epoch-rounds 50] [--epoch-minutes 10] [--web-origin URL] [--chain-id 31337] [--checkpoint-every 10] [--eval-every 10] [--eval-batches 4] [--reference RUN_FOLDER] [--exit-when-done] [--web [--dev]]
  [--audit-rate 0.1] [--spot-check-rate 0.05] [--probation 8] [--holding-rounds 10] [--no-verification] [--exposure-shards 2] [--exposure-hours 1]
  [--price-per-token 1000000000000] [--quote-minutes 10] [--payment-confirmations 1] [--serve-checkpoint DIR]
  [--stand-in-seconds 5 | --no-stand-in] [--session-hours 24] [--traffic compact|exact]
--local-chain starts anvil (npm @foundry-rs/anvil) on 127.0.0.1:8545 (--chain-port) with its state in --data-dir and the
RevenueDistributor deployed (written to DATA_DIR/chain.json); --web and --dev imply it. --chain FILE uses any EVM network
instead: a JSON file { rpcUrl, chainId, distributor, publisherKey }. Epochs close every --epoch-rounds 50 rounds or
--epoch-minutes 10 minutes and their Merkle roots are published to the distributor.
--web-origin is where volunteers sign in from (SIWE domain and URI): the origin the browser shows, e.g.
https://openshard.example behind a TLS proxy; default this coordinator's own URL with --web, http://127.0.0.1:5173 (the
dev server) with --dev or without --web. --chain-id is the chain their sign-in names (default the chain file's, else 31337).
--reference overlays the curve of \`npm run train\` in RUN_FOLDER (same batch, micro-batches, seed and rounds as steps) on the dashboard.
--audit-rate is the fraction of a trusted volunteer's results re-executed by another volunteer (every result until it has
passed --probation audits); the coordinator re-executes --spot-check-rate of the audits that agree as well (colluding
volunteers auditing each other); work vests after --holding-rounds rounds (docs/trust.md). --no-verification takes every
well-formed result as it is (for measuring the cost of verification, never for a public network).
No identity (wallet, or connection when anonymous) is sent more than --exposure-shards distinct shards within
--exposure-hours; shard choice and rebalancing respect it.
The OpenAI-compatible API (/v1/completions, /v1/chat/completions, /v1/models; docs/inference.md) serves the latest
committed checkpoint, or --serve-checkpoint DIR. Each request costs --price-per-token wei per token (prompt + max_tokens),
paid on chain to the distributor's pay(requestId, deadline) within --quote-minutes; a payment counts after
--payment-confirmations blocks. Without a chain, or at price 0, requests are free.
--web also serves the web app (apps/web) from the coordinator's own port: the build in dist/web (\`npm run build\`), built
first when any of its sources is newer, with COOP/COEP for threaded wasm. This is what \`npm start\` runs. --dev serves it
with Vite's dev server on http://127.0.0.1:5173 instead (hot reload, proxying to the coordinator).
--stand-in-seconds: while a volunteer trains, a shard that no training volunteer holds (nobody holds it, its holders
paused, its last holder left) is computed by the coordinator itself after this many seconds, so the pipeline never waits
on it; that work earns nobody anything, and the dashboard says which shards the coordinator computes. --no-stand-in
lets such a shard wait for a volunteer. --session-hours is how long a volunteer's sign-in lasts (Node volunteers sign in
again by themselves before it ends).
--traffic compact (the default) sends boundary activations and their gradients in q8 (int8 per row), has each volunteer
send the sum of its parameter gradients once per round, and sends weights as q8 updates with error feedback: about 12×
fewer bytes per trained token than --traffic exact, which sends fp32 everywhere and reproduces the single-process
trainer's losses bit for bit (docs/traffic.md).
The latest run in --data-dir resumes from its last checkpoint; the run options (--preset, --shards, --batch,
--micro-batches, --seed, --rounds, --traffic) are those it was started with: any of them given with another value is named and
ignored.`;

/** Dev accounts 0 and 1 administer and publish; local volunteers sign in from account 2 on. */
const LOCAL_VOLUNTEER_FIRST_ACCOUNT = 2;

function fraction(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!(v >= 0 && v <= 1)) throw new Error(`--${name} is '${raw}'; it must be a number from 0 to 1`);
  return v;
}

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} is '${raw}'; it must be an integer ≥ ${min}`);
  return v;
}

const FLAGS = {
  preset: { type: 'string' },
  shards: { type: 'string' },
  batch: { type: 'string' },
  'micro-batches': { type: 'string' },
  rounds: { type: 'string' },
  seed: { type: 'string' },
  data: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  volunteers: { type: 'string' },
  'data-dir': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-batches': { type: 'string' },
  reference: { type: 'string' },
  'web-origin': { type: 'string' },
  'chain-id': { type: 'string' },
  'local-chain': { type: 'boolean' },
  'chain-port': { type: 'string' },
  chain: { type: 'string' },
  'epoch-rounds': { type: 'string' },
  'epoch-minutes': { type: 'string' },
  'exit-when-done': { type: 'boolean' },
  'audit-rate': { type: 'string' },
  'spot-check-rate': { type: 'string' },
  probation: { type: 'string' },
  'holding-rounds': { type: 'string' },
  'no-verification': { type: 'boolean' },
  'exposure-shards': { type: 'string' },
  'exposure-hours': { type: 'string' },
  web: { type: 'boolean' },
  dev: { type: 'boolean' },
  'price-per-token': { type: 'string' },
  'quote-minutes': { type: 'string' },
  'payment-confirmations': { type: 'string' },
  'serve-checkpoint': { type: 'string' },
  'stand-in-seconds': { type: 'string' },
  'no-stand-in': { type: 'boolean' },
  traffic: { type: 'string' },
  'session-hours': { type: 'string' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values'];

/** The coordinator's options from the command line; every number is checked against its range. */
function coordinatorOptions(f: Flags, chain: ChainConfig | undefined): CoordinatorOptions {
  const d = DEFAULT_COORDINATOR;
  return {
    preset: f.preset ?? d.preset,
    shards: int('shards', f.shards, d.shards, 1),
    batch: int('batch', f.batch, d.batch, 1),
    microBatches: int('micro-batches', f['micro-batches'], d.microBatches, 1),
    rounds: int('rounds', f.rounds, d.rounds, 1),
    seed: int('seed', f.seed, d.seed, 0),
    data: f.data ?? d.data,
    host: f.host ?? d.host,
    port: int('port', f.port, d.port, 0),
    dataDir: f['data-dir'] ?? d.dataDir,
    checkpointEvery: int('checkpoint-every', f['checkpoint-every'], d.checkpointEvery, 1),
    evalEvery: int('eval-every', f['eval-every'], d.evalEvery, 1),
    evalBatches: int('eval-batches', f['eval-batches'], d.evalBatches, 1),
    reference: f.reference,
    // the built app is served from this coordinator's own URL, known once it listens (the port may be 0)
    webOrigin: f['web-origin'] ?? (f.web && !f.dev ? null : d.webOrigin),
    chainId: int('chain-id', f['chain-id'], chain?.chainId ?? d.chainId, 1),
    chain,
    epochs: {
      everyRounds: int('epoch-rounds', f['epoch-rounds'], d.epochs.everyRounds, 1),
      everyMs: int('epoch-minutes', f['epoch-minutes'], d.epochs.everyMs / 60_000, 1) * 60_000,
    },
    trust: f['no-verification'] ? null : trustPolicy(f),
    exposure: {
      maxShards: int('exposure-shards', f['exposure-shards'], d.exposure.maxShards, 1),
      windowMs: int('exposure-hours', f['exposure-hours'], d.exposure.windowMs / 3_600_000, 1) * 3_600_000,
    },
    payments: {
      ...d.payments,
      pricePerToken: wei('price-per-token', f['price-per-token'], d.payments.pricePerToken),
      quoteTtlMs: int('quote-minutes', f['quote-minutes'], d.payments.quoteTtlMs / 60_000, 1) * 60_000,
      confirmations: int('payment-confirmations', f['payment-confirmations'], d.payments.confirmations, 1),
    },
    serveCheckpoint: f['serve-checkpoint'],
    sessionTtlMs: int('session-hours', f['session-hours'], 24, 1) * 3_600_000,
    traffic: traffic(f.traffic, d.traffic),
    standIn: f['no-stand-in'] ? null : { ...DEFAULT_STAND_IN, graceMs: int('stand-in-seconds', f['stand-in-seconds'], DEFAULT_STAND_IN.graceMs / 1000, 0) * 1000 },
  };
}

function traffic(raw: string | undefined, fallback: Traffic): Traffic {
  if (raw === undefined) return fallback;
  if (!(TRAFFIC_MODES as readonly string[]).includes(raw)) throw new Error(`--traffic is '${raw}'; it must be ${TRAFFIC_MODES.join(' or ')}`);
  return raw as Traffic;
}

function wei(name: string, raw: string | undefined, fallback: bigint): bigint {
  if (raw === undefined) return fallback;
  if (!/^\d{1,40}$/.test(raw)) throw new Error(`--${name} is '${raw}'; it must be a whole number of wei (0 to 10^40)`);
  return BigInt(raw);
}

function trustPolicy(f: Flags): TrustPolicy {
  const d = DEFAULT_TRUST;
  return {
    ...d,
    auditRate: fraction('audit-rate', f['audit-rate'], d.auditRate),
    spotCheckRate: fraction('spot-check-rate', f['spot-check-rate'], d.spotCheckRate),
    probation: int('probation', f.probation, d.probation, 0),
    holdingRounds: int('holding-rounds', f['holding-rounds'], d.holdingRounds, 0),
  };
}

/** A line per closed round: loss, tokens per second since the previous one, volunteers. */
function roundPrinter(): (s: RoundSummary, c: Coordinator) => void {
  let last = performance.now();
  return (s, c) => {
    const now = performance.now();
    const tokensPerSecond = (s.tokens / (now - last)) * 1000;
    last = now;
    console.log(`round ${s.round}: loss ${s.loss.toFixed(4)}, ${Math.round(tokensPerSecond)} tok/s, ${c.volunteers.size} volunteers`);
  };
}

/** The web app's dev server (Vite), proxying /socket.io and the HTTP routes to this coordinator; returns the app's URL. */
async function startDevServer(coordinatorUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  process.env.OPENSHARD_COORDINATOR_URL = coordinatorUrl;
  const { createServer } = await import('vite');
  const vite = await createServer({ configFile: 'vite.config.ts', logLevel: 'warn' });
  await vite.listen();
  return { url: vite.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5173/', close: () => vite.close() };
}

function printWebApp(app: string): void {
  console.log(`web app: ${app} (contribute: ${app}#/contribute, dashboard: ${app}#/dashboard, earnings: ${app}#/earnings, playground: ${app}#/playground)`);
}

/** Node volunteers on this machine; on the local chain each signs in with a dev account (2, 3, …) so its work accrues. */
function spawnVolunteers(count: number, url: string, localChain: LocalChain | null): ChildProcess[] {
  return Array.from({ length: count }, (_, i) => {
    const key = localChain?.devKeys[LOCAL_VOLUNTEER_FIRST_ACCOUNT + i];
    return spawn(process.execPath, ['--import', 'tsx', 'packages/volunteer/src/cli.ts', '--url', url, '--name', `local-${i + 1}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: key ? { ...process.env, OPENSHARD_VOLUNTEER_KEY: key } : process.env,
    });
  });
}

function printAddresses(running: RunningCoordinator, o: CoordinatorOptions): void {
  const { server } = running;
  console.log(`${running.resumed ? `resumed run ${running.runId} at round ${running.startRound}` : `new run ${running.runId}`} (data in ${o.dataDir})`);
  console.log(`coordinator: ${server.url} (health: ${server.url}/health, OpenAI-compatible API: ${server.url}/v1)`);
  console.log(`add a volunteer: npx openshard-volunteer --url ${server.url}`);
  console.log(`sign-in (SIWE) origin: ${o.webOrigin ?? server.url}${o.webOrigin ? '' : ' (this coordinator; behind a proxy or on 0.0.0.0 pass --web-origin with the URL browsers open)'}`);
  if (o.chain) console.log(`chain: ${o.chain.rpcUrl} (chain id ${o.chain.chainId}), RevenueDistributor ${o.chain.distributor}; epochs every ${o.epochs.everyRounds} rounds`);
  else console.log('no chain: work accrues shares to signed-in wallets, but no epoch is published (--local-chain or --chain FILE)');
}

async function main(): Promise<void> {
  const f = parseArgs({ options: FLAGS, strict: true }).values;
  const volunteers = int('volunteers', f.volunteers, 0, 0);
  const dataDir = f['data-dir'] ?? DEFAULT_COORDINATOR.dataDir;
  // --web: the build, from the coordinator's own port; --dev: Vite's dev server beside it
  const webApp = f.dev ? 'dev' : f.web ? 'built' : null;
  if (f.chain && f['local-chain']) throw new Error('give --chain FILE or --local-chain, not both');
  if (f['no-stand-in'] && f['stand-in-seconds'] !== undefined) throw new Error('give --stand-in-seconds N or --no-stand-in, not both');
  // a browser cannot open a wildcard address, so sign-in messages naming it would all be refused
  if (webApp === 'built' && !f['web-origin'] && /^(0\.0\.0\.0|::|\[::\])$/.test(f.host ?? '')) {
    throw new Error(`--host ${f.host} listens on every interface; pass --web-origin with the URL browsers open (e.g. https://openshard.example behind a TLS proxy)`);
  }
  let localChain: LocalChain | null = null;
  // declared before start-up: a run that completes during it may call stop() at once
  let devServer: Awaited<ReturnType<typeof startDevServer>> | null = null;
  let children: ChildProcess[] = [];
  const built = webApp === 'built' ? await ensureWebBuild() : null;
  if (f['local-chain'] || (webApp && !f.chain)) {
    mkdirSync(dataDir, { recursive: true });
    localChain = await startLocalChain(dataDir, int('chain-port', f['chain-port'], LOCAL_CHAIN_PORT, 0));
  }
  const o = coordinatorOptions(f, f.chain ? readChainConfig(f.chain) : localChain?.config);
  const running = await startCoordinator({
    ...o,
    routes: built ? [staticRoutes(built)] : [],
    onRound: roundPrinter(),
    onFinished: () => {
      console.log('the run is complete');
      if (f['exit-when-done']) void stop();
    },
  }).catch(async (e: Error) => {
    await localChain?.stop();
    throw e;
  });
  printAddresses(running, o);
  const ignored = running.resumed ? ignoredOnResume(f, running.spec) : [];
  if (ignored.length) console.log(`ignored on resume (run ${running.runId} keeps the options it started with; a new run needs another --data-dir): ${ignored.join(', ')}`);
  if (webApp === 'built') printWebApp(`${running.server.url}/`);
  if (webApp === 'dev') {
    devServer = await startDevServer(running.server.url);
    printWebApp(devServer.url);
  }
  children = spawnVolunteers(volunteers, running.server.url, localChain);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  async function stop() {
    for (const c of children) c.kill('SIGTERM');
    await devServer?.close();
    await running.close();
    await localChain?.stop();
    process.exit(0);
  }
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}\n${USAGE}`);
  process.exit(1);
});
