import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, chromium, type Browser } from '@playwright/test';
import { revenueDistributorAbi } from '@openshard/contracts';
import { createPublicClient, createWalletClient, decodeEventLog, defineChain, http, parseEther, type Address, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { chromiumLaunchOptions } from '../../../packages/tensor/test/browser/chromium.ts';
import { startCoordinatorProcess, startWebApp, type CoordinatorProcess } from './local-network.ts';

/**
 * Ownership end to end: anvil from npm with the RevenueDistributor deployed by the coordinator CLI,
 * the web app with wagmi's mock connector on an anvil dev account (unlocked: the chain signs), a
 * WebGPU volunteer earning shares, epochs published on chain, revenue deposited, one claim.
 */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const HOLDER = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });
const PAYER = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 9 });
const REVENUE = parseEther('1');

let coordinator: CoordinatorProcess | null = null;
let web: Awaited<ReturnType<typeof startWebApp>> | null = null;
let browser: Browser | null = null;
test.afterEach(async () => {
  await browser?.close();
  await web?.server.close();
  await coordinator?.stop();
});

test('behavior: connect a wallet, sign in, contribute, and claim the revenue share: the balance rises by exactly the entitlement minus gas', async () => {
  test.setTimeout(300_000);
  coordinator = await startCoordinatorProcess([
    '--preset',
    'micro',
    '--shards',
    '1',
    '--batch',
    '1',
    '--micro-batches',
    '2',
    '--rounds',
    '2000',
    '--local-chain',
    '--chain-port',
    '0',
    '--epoch-rounds',
    '2',
    '--checkpoint-every',
    '2',
  ]);
  web = await startWebApp(coordinator.url);
  const chainFile = JSON.parse(readFileSync(join(coordinator.dataDir, 'chain.json'), 'utf8')) as { rpcUrl: string; chainId: number; distributor: Address };
  const chain = defineChain({ id: chainFile.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [chainFile.rpcUrl] } } });
  const publicClient = createPublicClient({ chain, transport: http(chainFile.rpcUrl) });

  browser = await chromium.launch(chromiumLaunchOptions);
  const page = await browser.newPage();
  await page.goto(`${web.url}?mockWallet=${HOLDER.address}#/earnings`);
  await page.getByRole('button', { name: /^Connect Mock/ }).click();
  await expect(page.getByTestId('wallet-address')).toContainText(HOLDER.address, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Sign in with Ethereum' }).click();
  await expect(page.getByTestId('signed-in-as')).toContainText(HOLDER.address, { timeout: 30_000 });
  // nobody has trained yet: no epoch, and the revenue history says so
  await expect(page.getByTestId('revenue-no-epoch')).toContainText('No epoch has closed yet');

  await page.getByRole('link', { name: 'Contribute', exact: true }).click();
  await expect(page.getByTestId('contribute-wallet')).toContainText(`Signed in as ${HOLDER.address}`);
  await page.getByRole('button', { name: 'Contribute this GPU' }).click();
  await expect.poll(async () => Number(await page.getByTestId('status-tasks-accepted').textContent()), { timeout: 60_000 }).toBeGreaterThan(0);

  await page.getByRole('link', { name: 'Earnings', exact: true }).click();
  await expect.poll(async () => BigInt((await page.getByTestId('earnings-shares').textContent())!.replace(/\D.*$/, '') || '0'), { timeout: 60_000 }).toBeGreaterThan(0n);

  // revenue arrives; a later epoch entitles the only holder to all of it (less rounding dust)
  const payer = createWalletClient({ chain, transport: http(chainFile.rpcUrl), account: PAYER });
  await publicClient.waitForTransactionReceipt({ hash: await payer.sendTransaction({ to: chainFile.distributor, value: REVENUE }) });
  const claimable = page.getByTestId('earnings-claimable');
  await expect.poll(async () => BigInt((await claimable.getAttribute('data-wei')) ?? '0'), { timeout: 120_000 }).toBeGreaterThan(REVENUE - 1000n);
  const entitled = BigInt((await claimable.getAttribute('data-wei'))!);
  expect(entitled).toBeLessThanOrEqual(REVENUE);
  // the revenue history agrees: the deposit is all the revenue, and the epochs' parts add up to the entitlement
  const history = page.getByTestId('revenue-history');
  await expect(history.getByTestId('revenue-total')).toHaveAttribute('data-wei', String(REVENUE), { timeout: 30_000 });
  await expect(history.getByTestId('revenue-total-part')).toHaveAttribute('data-wei', String(entitled), { timeout: 30_000 });
  await expect(history.getByRole('img', { name: 'Revenue and your part per epoch' })).toBeVisible();

  const before = await publicClient.getBalance({ address: HOLDER.address });
  await page.getByRole('button', { name: 'Claim' }).click();
  await expect(page.getByTestId('claim-result')).toContainText('Claimed', { timeout: 60_000 });
  const hash = /0x[0-9a-f]{64}/.exec((await page.getByTestId('claim-result').textContent())!)![0] as Hex;
  const receipt = await publicClient.getTransactionReceipt({ hash });
  const claimed = receipt.logs
    .map((l) => {
      try {
        return decodeEventLog({ abi: revenueDistributorAbi, data: l.data, topics: l.topics });
      } catch {
        return null;
      }
    })
    .find((e) => e?.eventName === 'Claimed');
  const amount = (claimed!.args as { amount: bigint }).amount;
  expect(amount).toBe(entitled);
  const after = await publicClient.getBalance({ address: HOLDER.address });
  expect(after - before).toBe(amount - receipt.gasUsed * receipt.effectiveGasPrice);
  await expect(page.getByTestId('wallet-balance')).toHaveAttribute('data-wei', String(after), { timeout: 30_000 });
  await expect(page.getByTestId('earnings-claimable')).toHaveAttribute('data-wei', '0', { timeout: 30_000 });
  const path = test.info().outputPath('earnings.png');
  await page.screenshot({ path, fullPage: true });
  await test.info().attach('earnings page', { path, contentType: 'image/png' });
});
