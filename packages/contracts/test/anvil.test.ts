import { describe, expect, test } from 'vitest';
import { createPublicClient, createWalletClient, http, parseEther } from 'viem';
import { AnvilNotFoundError, AnvilStartError, DEV_ACCOUNT_COUNT, resolveAnvilBinary, startAnvil } from '../src/anvil.ts';

/** The first dev account of the standard mnemonic, as every Ethereum tool prints it. */
const DEV_ACCOUNT_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const DEV_BALANCE = parseEther('10000');

describe('startAnvil', () => {
  test('behavior: starts on a free port with the chain id asked for, and its accounts are funded local signers', async () => {
    const anvil = await startAnvil({ chainId: 4242 });
    try {
      expect(anvil.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = createPublicClient({ chain: anvil.chain, transport: http(anvil.rpcUrl) });
      expect(await client.getChainId()).toBe(4242);
      expect(anvil.accounts).toHaveLength(DEV_ACCOUNT_COUNT);
      expect(anvil.accounts[0].address).toBe(DEV_ACCOUNT_0);
      const nodeAccounts = await createWalletClient({ transport: http(anvil.rpcUrl) }).getAddresses();
      expect(nodeAccounts.map((a) => a.toLowerCase())).toEqual(anvil.accounts.map((a) => a.address.toLowerCase()));
      expect(await client.getBalance({ address: anvil.accounts[9].address })).toBe(DEV_BALANCE);
    } finally {
      await anvil.stop();
    }
  });

  test('behavior: stop() ends the process and frees the port', async () => {
    const anvil = await startAnvil();
    await anvil.stop();
    await expect(fetch(anvil.rpcUrl, { method: 'POST' })).rejects.toThrow();
    await anvil.stop(); // idempotent
    const again = await startAnvil({ port: Number(new URL(anvil.rpcUrl).port) });
    await again.stop();
  });

  test("error: a port already in use fails with anvil's own message", async () => {
    const first = await startAnvil();
    try {
      const port = Number(new URL(first.rpcUrl).port);
      const error = await startAnvil({ port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AnvilStartError);
      expect(String(error)).toMatch(/Address already in use/);
    } finally {
      await first.stop();
    }
  });

  test('error: a missing platform package is named in the error', () => {
    const [platform, arch] = process.platform === 'darwin' ? ['linux', 'arm64'] : ['darwin', 'arm64'];
    expect(() => resolveAnvilBinary(platform, arch)).toThrow(AnvilNotFoundError);
    expect(() => resolveAnvilBinary(platform, arch)).toThrow(`@foundry-rs/anvil-${platform}-arm64`);
    expect(() => resolveAnvilBinary('aix', 'ppc64')).toThrow('@foundry-rs/anvil has no binary for aix-ppc64');
  });
});
