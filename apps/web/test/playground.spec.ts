import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, chromium, type Browser } from '@playwright/test';
import { revenueDistributorAbi } from '@openshard/contracts';
import type { OwnershipView } from '@openshard/protocol';
import { createPublicClient, createWalletClient, defineChain, http, parseEventLogs, type Address, type Hash, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { chromiumLaunchOptions } from '../../../packages/tensor/test/browser/chromium.ts';
import { startCoordinatorProcess, startWebApp, type CoordinatorProcess } from './local-network.ts';

/**
 * Paying for a generation end to end: the coordinator CLI with anvil and the RevenueDistributor,
 * one Node volunteer signed in as a dev account (the holder) training until a checkpoint is
 * served, and the Playground with wagmi's mock connector on another dev account (the payer):
 * quote, pay on chain, the text streamed in; then the payment reaches the holder's entitlement
 * in the next epoch and the holder claims it.
 */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
/** The CLI's first local volunteer signs in with dev account 2. */
const HOLDER = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 });
const PAYER = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 5 });
/** 11 bytes of prompt + 20 max tokens: within micro's 32-token context. */
const PROMPT = 'It was the ';
const MAX_TOKENS = 20;
/** Rounds between checkpoints; each is served at once (a stream under way finishes on its own) and closes an epoch. */
const CHECKPOINT_EVERY = 4;
/** The CLI's default --price-per-token (wei). */
const PRICE_PER_TOKEN = 1_000_000_000_000n;

let coordinator: CoordinatorProcess | null = null;
let web: Awaited<ReturnType<typeof startWebApp>> | null = null;
let browser: Browser | null = null;
test.afterEach(async () => {
  await browser?.close();
  await web?.server.close();
  await coordinator?.stop();
});

async function ownership(address: Address): Promise<OwnershipView> {
  const response = await fetch(`${coordinator!.url}/ownership/${address}`);
  expect(response.status).toBe(200);
  return (await response.json()) as OwnershipView;
}

test('behavior: pay for a generation in the wallet and watch it stream; the distributor receives exactly the quote, and the holder claims its share of it', async () => {
  test.setTimeout(180_000);
  const started = Date.now();
  const mark = (what: string) => console.log(`playground.spec: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
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
    '--checkpoint-every',
    String(CHECKPOINT_EVERY),
    '--epoch-rounds',
    String(CHECKPOINT_EVERY),
    '--volunteers',
    '1',
  ]);
  web = await startWebApp(coordinator.url);
  const chainFile = JSON.parse(readFileSync(join(coordinator.dataDir, 'chain.json'), 'utf8')) as { rpcUrl: string; chainId: number; distributor: Address };
  const chain = defineChain({ id: chainFile.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [chainFile.rpcUrl] } } });
  const publicClient = createPublicClient({ chain, transport: http(chainFile.rpcUrl) });
  const distributor = { address: chainFile.distributor, abi: revenueDistributorAbi } as const;
  mark('coordinator and web app up');

  browser = await chromium.launch(chromiumLaunchOptions);
  const page = await browser.newPage();
  await page.goto(`${web.url}?mockWallet=${PAYER.address}#/playground`);
  await page.getByRole('button', { name: /^Connect Mock/ }).click();
  await expect(page.getByTestId('wallet-address')).toHaveText(PAYER.address, { timeout: 30_000 });
  // the first checkpoint is served a couple of rounds after the volunteer joins; the page notices by itself
  await expect(page.getByTestId('model')).toContainText('Model openshard-micro: reads and writes at most 32 tokens', { timeout: 60_000 });
  mark('model served');

  await page.getByLabel('Prompt').fill(PROMPT);
  await page.getByLabel('Max tokens').fill(String(MAX_TOKENS));
  await page.getByLabel('Seed').fill('7');
  const tokens = PROMPT.length + MAX_TOKENS;
  await expect(page.getByTestId('quote')).toContainText(`This request is ${tokens} tokens: ${PROMPT.length} bytes of prompt and up to ${MAX_TOKENS} bytes of answer`);

  // nothing was deposited before: all the revenue below is this payment
  expect(await publicClient.readContract({ ...distributor, functionName: 'totalDeposited' })).toBe(0n);
  expect(await publicClient.getBalance({ address: chainFile.distributor })).toBe(0n);
  expect((await ownership(HOLDER.address)).epoch?.entitlement ?? '0').toBe('0');

  // every length the streamed text takes on, as the page renders it
  await page.evaluate(() => {
    const lengths: number[] = [];
    (window as unknown as { textLengths: number[] }).textLengths = lengths;
    new MutationObserver(() => {
      const n = document.querySelector('[data-testid="generation-text"]')?.textContent?.length ?? 0;
      if (n !== lengths.at(-1)) lengths.push(n);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByRole('button', { name: 'Pay and generate' }).click();
  const amount = tokens * Number(PRICE_PER_TOKEN);
  await expect(page.getByTestId('quote-price')).toHaveAttribute('data-wei', String(amount), { timeout: 30_000 });
  await expect(page.getByTestId('quote-tokens')).toHaveText(String(tokens));
  mark('quoted');
  await expect(page.getByTestId('payment-tx')).toBeVisible({ timeout: 30_000 });
  mark('paid');
  await expect(page.getByTestId('run')).toHaveAttribute('data-stage', 'done', { timeout: 60_000 });
  mark('generation done');
  await expect(page.getByTestId('step-quote')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('step-payment')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('step-generation')).toContainText(/Finished: it (wrote max tokens|met a stop sequence)/);

  const text = (await page.getByTestId('generation-text').textContent())!;
  const lengths = await page.evaluate(() => (window as unknown as { textLengths: number[] }).textLengths);
  const grown = lengths.filter((n) => n > 0);
  expect(grown.length, `text lengths as rendered: ${lengths.join(', ')}`).toBeGreaterThanOrEqual(2);
  expect(grown).toEqual([...grown].sort((a, b) => a - b));
  expect(grown.at(-1)).toBe(text.length);
  expect(Number(await page.getByTestId('generation-text').getAttribute('data-pieces'))).toBeGreaterThanOrEqual(2);

  // on chain: exactly the quote, recorded for this request id and payer
  const hash = (await page.getByTestId('payment-tx').textContent()) as Hash;
  const requestId = (await page.getByTestId('payment-request-id').textContent()) as Hex;
  await expect(page.getByTestId('quote-request-id')).toHaveText(requestId);
  const receipt = await publicClient.getTransactionReceipt({ hash });
  expect(receipt.from.toLowerCase()).toBe(PAYER.address.toLowerCase());
  expect(receipt.to?.toLowerCase()).toBe(chainFile.distributor.toLowerCase());
  const [event] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'RequestPaid', logs: receipt.logs });
  expect(event.args).toEqual({ requestId, payer: PAYER.address, amount: BigInt(amount) });
  expect(await publicClient.getBalance({ address: chainFile.distributor })).toBe(BigInt(amount));
  expect(await publicClient.readContract({ ...distributor, functionName: 'totalDeposited' })).toBe(BigInt(amount));
  expect(await publicClient.readContract({ ...distributor, functionName: 'paid', args: [requestId] })).toBe(BigInt(amount));

  const path = test.info().outputPath('playground.png');
  await page.screenshot({ path, fullPage: true });
  await test.info().attach('playground page', { path, contentType: 'image/png' });

  // the history keeps it, across a reload
  for (const when of ['now', 'after a reload']) {
    if (when !== 'now') await page.reload();
    const entry = page.getByTestId('history-entry').first();
    await expect(entry, when).toHaveAttribute('data-request-id', requestId);
    await expect(entry).toHaveAttribute('data-status', 'served');
    await expect(entry.getByTestId('history-text')).toHaveText(text);
    await expect(entry.getByTestId('history-tx')).toHaveText(hash);
    await expect(entry.getByTestId('history-paid')).toHaveAttribute('data-wei', String(amount));
    await expect(entry).toContainText(`${tokens} tokens`);
  }

  // a later epoch entitles the only holder to the whole payment, less at most a wei of the accumulator's rounding
  await expect.poll(async () => BigInt((await ownership(HOLDER.address)).epoch?.entitlement ?? '0'), { timeout: 60_000 }).toBeGreaterThanOrEqual(BigInt(amount) - 1n);
  mark('entitlement published');
  const holder = createWalletClient({ chain, transport: http(chainFile.rpcUrl), account: HOLDER });
  const claim = async () => {
    const { epoch } = await ownership(HOLDER.address);
    const { request } = await publicClient.simulateContract({
      ...distributor,
      functionName: 'claim',
      args: [HOLDER.address, BigInt(epoch!.shares), BigInt(epoch!.entitlement), epoch!.proof],
      account: HOLDER,
    });
    return { epoch: epoch!, hash: await holder.writeContract(request) };
  };
  // the proof must match a root on chain when mined: if two newer roots landed meanwhile, once more with the newest
  const sent = await claim().catch(claim);
  const entitled = BigInt(sent.epoch.entitlement);
  expect(BigInt(amount) - entitled).toBeGreaterThanOrEqual(0n);
  expect(BigInt(amount) - entitled).toBeLessThanOrEqual(1n);
  const before = await publicClient.getBalance({ address: HOLDER.address, blockNumber: (await publicClient.waitForTransactionReceipt({ hash: sent.hash })).blockNumber - 1n });
  const claimReceipt = await publicClient.getTransactionReceipt({ hash: sent.hash });
  const [claimed] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'Claimed', logs: claimReceipt.logs });
  expect(claimed.args.account).toBe(HOLDER.address);
  expect(claimed.args.amount).toBe(entitled);
  const after = await publicClient.getBalance({ address: HOLDER.address, blockNumber: claimReceipt.blockNumber });
  expect(after - before).toBe(entitled - claimReceipt.gasUsed * claimReceipt.effectiveGasPrice);
  expect(await publicClient.getBalance({ address: chainFile.distributor })).toBe(BigInt(amount) - entitled);
  mark('claimed');
});
