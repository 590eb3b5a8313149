import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployRevenueDistributor } from '@openshard/contracts';
import { createLocalClients, startAnvil } from '@openshard/contracts/node';
import { toHex, type Hex } from 'viem';
import type { ChainConfig } from './distributor-chain.ts';

/** Where `npm start` keeps its chain: anvil's state and the deployment, beside the SQLite file. */
export const CHAIN_FILE = 'chain.json';
const ANVIL_STATE_FILE = 'anvil-state.json';
/** The local chain's port; the web app's wallet talks to it. */
export const LOCAL_CHAIN_PORT = 8545;

export interface LocalChain {
  config: ChainConfig;
  /** Dev accounts' keys (public knowledge: anvil's mnemonic), for demos and tests. */
  devKeys: Hex[];
  stop(): Promise<void>;
}

/** Reads a chain file (`--chain FILE`): { rpcUrl, chainId, distributor, publisherKey }, each checked. */
export function readChainConfig(path: string): ChainConfig {
  const c = JSON.parse(readFileSync(path, 'utf8')) as Partial<ChainConfig>;
  if (typeof c.rpcUrl !== 'string' || !/^https?:\/\//.test(c.rpcUrl)) throw new Error(`${path}: rpcUrl '${c.rpcUrl}' must be an http(s) URL`);
  if (!Number.isInteger(c.chainId) || c.chainId! < 1) throw new Error(`${path}: chainId '${c.chainId}' must be a positive integer`);
  if (typeof c.distributor !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(c.distributor)) throw new Error(`${path}: distributor '${c.distributor}' must be an address`);
  if (typeof c.publisherKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(c.publisherKey)) throw new Error(`${path}: publisherKey must be 32 bytes of 0x-prefixed hex`);
  return c as ChainConfig;
}

/**
 * anvil from npm on 127.0.0.1:8545 with its state in `dataDir`, and the RevenueDistributor deployed
 * once (admin: dev account 0, publisher: dev account 1); the deployment is written to chain.json,
 * where the coordinator and the web app find it. A chain that lost its state gets a new deployment.
 */
export async function startLocalChain(dataDir: string, port = LOCAL_CHAIN_PORT): Promise<LocalChain> {
  const anvil = await startAnvil({ port, statePath: join(dataDir, ANVIL_STATE_FILE) });
  const [admin, publisher] = anvil.accounts;
  const clients = createLocalClients(anvil, admin);
  const path = join(dataDir, CHAIN_FILE);
  let config = existsSync(path) ? readChainConfig(path) : null;
  const deployed = config && (await clients.publicClient.getCode({ address: config.distributor as Hex }));
  if (!config || !deployed) {
    const distributor = await deployRevenueDistributor(clients, { admin: admin.address, publisher: publisher.address });
    config = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, distributor, publisherKey: toHex(publisher.getHdKey().privateKey!) };
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  } else if (config.rpcUrl !== anvil.rpcUrl) {
    // the same chain on another port (--chain-port) keeps its deployment and the epochs published to it
    config = { ...config, rpcUrl: anvil.rpcUrl };
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  }
  return { config, devKeys: anvil.accounts.map((a) => toHex(a.getHdKey().privateKey!)), stop: () => anvil.stop() };
}
