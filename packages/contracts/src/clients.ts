import { createPublicClient, createTestClient, createWalletClient, http, type Account, type Chain, type PublicClient, type TestClient, type Transport, type WalletClient } from 'viem';
import type { Anvil } from './anvil.ts';

/** Anvil mines on every transaction, so receipts exist almost at once; poll for them quickly. */
const LOCAL_POLLING_INTERVAL_MS = 20;

export interface LocalClients {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  /** Anvil's own methods: snapshot/revert, automine, mine, setBalance. */
  testClient: TestClient<'anvil', Transport, Chain>;
}

/** Clients for a local anvil chain; the wallet signs locally with `account` (default: dev account 0). */
export function createLocalClients(anvil: Pick<Anvil, 'chain' | 'rpcUrl' | 'accounts'>, account: Account = anvil.accounts[0]): LocalClients {
  const { chain } = anvil;
  const transport = http(anvil.rpcUrl);
  const pollingInterval = LOCAL_POLLING_INTERVAL_MS;
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    walletClient: createWalletClient({ chain, transport, account, pollingInterval }),
    testClient: createTestClient({ chain, transport, mode: 'anvil', pollingInterval }),
  };
}
