/**
 * A local anvil chain for tests, benches and dev: the binary from npm `@foundry-rs/anvil`'s
 * platform package, started on 127.0.0.1 with the standard dev mnemonic.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { defineChain, type Chain } from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';

/** Anvil's (and Hardhat's) default mnemonic; its accounts are public, never use them off a dev chain. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_ACCOUNT_COUNT = 10;
export const ANVIL_CHAIN_ID = 31337;
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 20;
const STOP_TIMEOUT_MS = 5_000;
/** Kept for error messages: the end of anvil's stdout and stderr. */
const OUTPUT_TAIL_CHARS = 4_000;

/** The npm package that carries the anvil binary, per `${process.platform}-${process.arch}`. */
const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
};

export interface StartAnvilParameters {
  /** Defaults to a free port chosen by the OS. */
  port?: number;
  chainId?: number;
  /** Keep the chain in this file: loaded at start if it exists, written every STATE_INTERVAL_S and on exit. */
  statePath?: string;
}

/** How often a chain with a state file is written to it (s). */
export const STATE_INTERVAL_S = 2;

export interface Anvil {
  rpcUrl: string;
  chainId: number;
  chain: Chain;
  /** The funded dev accounts anvil derives from DEV_MNEMONIC, as local (signing) accounts. */
  accounts: readonly HDAccount[];
  stop(): Promise<void>;
}

export class AnvilNotFoundError extends Error {
  override name = 'AnvilNotFoundError';
}

export class AnvilStartError extends Error {
  override name = 'AnvilStartError';
}

const require = createRequire(import.meta.url);

export function resolveAnvilBinary(platform: string = process.platform, arch: string = process.arch): string {
  const pkg = PLATFORM_PACKAGES[`${platform}-${arch}`];
  if (!pkg) {
    throw new AnvilNotFoundError(`@foundry-rs/anvil has no binary for ${platform}-${arch} (it ships ${Object.keys(PLATFORM_PACKAGES).join(', ')})`);
  }
  try {
    return require.resolve(`${pkg}/bin/${platform === 'win32' ? 'anvil.exe' : 'anvil'}`);
  } catch {
    throw new AnvilNotFoundError(
      `anvil binary not found: ${pkg} (the ${platform}-${arch} package of @foundry-rs/anvil) is not installed. ` +
        'Run `npm install` at the repo root; the binary comes with that package, its postinstall is not needed.',
    );
  }
}

let devAccounts: readonly HDAccount[] | undefined;
/** Derived once per process: each derivation runs PBKDF2 (~50 ms). */
function getDevAccounts(): readonly HDAccount[] {
  devAccounts ??= Array.from({ length: DEV_ACCOUNT_COUNT }, (_, addressIndex) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex }));
  return devAccounts;
}

export async function startAnvil({ port = 0, chainId = ANVIL_CHAIN_ID, statePath }: StartAnvilParameters = {}): Promise<Anvil> {
  const binary = resolveAnvilBinary();
  const args = ['--host', HOST, '--port', String(port), '--chain-id', String(chainId)];
  args.push('--mnemonic', DEV_MNEMONIC, '--accounts', String(DEV_ACCOUNT_COUNT));
  if (statePath) args.push('--state', statePath, '--state-interval', String(STATE_INTERVAL_S));
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  let exited = false;
  let spawnFailure: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    const done = () => {
      exited = true;
      process.off('exit', killOnExit);
      resolve();
    };
    child.once('exit', done);
    child.once('error', (error) => {
      spawnFailure = error;
      done();
    });
  });
  // Both pipes are always drained: anvil logs every request, and a full pipe would stall it.
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exitPromise;
    clearTimeout(timer);
  };

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let rpcUrl: string | undefined;
    for (;;) {
      if (spawnFailure) throw new AnvilStartError(`could not run ${binary}: ${spawnFailure.message}`);
      if (exited) throw new AnvilStartError(`anvil exited before it was ready (anvil ${args.join(' ')}):\n${output}`);
      if (Date.now() > deadline) {
        throw new AnvilStartError(`anvil did not answer eth_chainId within ${READY_TIMEOUT_MS} ms:\n${output}`);
      }
      // With --port 0 the OS picks the port; anvil prints it.
      const listening = /Listening on ([\d.]+):(\d+)/.exec(output);
      rpcUrl ??= listening ? `http://${listening[1]}:${listening[2]}` : undefined;
      if (rpcUrl && (await answersChainId(rpcUrl, chainId))) break;
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    const chain = defineChain({
      id: chainId,
      name: 'Anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    return { rpcUrl, chainId, chain, accounts: getDevAccounts(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function answersChainId(rpcUrl: string, chainId: number): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    const { result } = (await response.json()) as { result?: string };
    return result !== undefined && Number(result) === chainId;
  } catch {
    return false;
  }
}
