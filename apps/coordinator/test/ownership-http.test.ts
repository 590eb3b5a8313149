import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@openshard/tensor';
import { signIn as signInAs, VolunteerClient, type VolunteerEvent } from '@openshard/volunteer';
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '../src/http/app.ts';
import { MAX_SIWE_BODY_BYTES } from '../src/http/ownership-routes.ts';
import { DEFAULT_COORDINATOR, startCoordinator } from '../src/start-coordinator.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';

/** anvil's first two dev accounts */
const ALICE = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const BOB = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const WEB = 'http://127.0.0.1:5173';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'openshard-ownership-'));
  dirs.push(d);
  return d;
};
const SMALL = { ...DEFAULT_COORDINATOR, preset: 'micro', shards: 1, rounds: 1, port: 0, evalBatches: 1, webOrigin: WEB, chainId: 31337 };

describe('sign-in and the ownership record over HTTP (loopback, SQLite)', () => {
  test('behavior: a volunteer signed in with Ethereum accrues its accepted work as shares; an anonymous one accrues nothing; a replayed sign-in and a forged session are refused', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'openshard-ownership-'));
    dirs.push(dataDir);
    const network = await startCoordinator({
      ...DEFAULT_COORDINATOR,
      preset: 'micro',
      shards: 1,
      batch: 1,
      microBatches: 2,
      rounds: 3,
      port: 0,
      dataDir,
      evalBatches: 1,
      webOrigin: WEB,
      chainId: 31337,
    });
    const url = network.server.url;
    const volunteers: VolunteerClient[] = [];
    try {
      const signIn = async (account = ALICE, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) => {
        const { nonce } = (await (await fetch(`${url}/siwe/nonce`)).json()) as { nonce: string };
        const message = createSiweMessage({ domain: '127.0.0.1:5173', uri: WEB, chainId: 31337, address: account.address, nonce, version: '1', issuedAt: new Date(), ...overrides });
        const signature = await account.signMessage({ message });
        return { message, signature };
      };
      const verify = (body: unknown) => fetch(`${url}/siwe/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

      const signed = await signIn();
      const ok = await verify(signed);
      expect(ok.status).toBe(200);
      const session = (await ok.json()) as { address: string; sessionToken: string; expiresAt: number };
      expect(session.address).toBe(ALICE.address);
      const replay = await verify(signed);
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({ error: 'nonce' });
      // the volunteer package's sign-in (Node CLI --key, and the web app) builds the message the coordinator asks for
      expect(await signInAs(url, BOB)).toMatchObject({ address: BOB.address, sessionToken: expect.stringMatching(/^v1\./) });
      await expect(signInAs(url, { address: BOB.address, signMessage: ALICE.signMessage })).rejects.toThrow(/sign-in refused \(signature\)/);
      const wrongChain = await verify(await signIn(ALICE, { chainId: 1 }));
      expect(await wrongChain.json()).toMatchObject({ error: 'chain' });
      const someoneElse = await signIn(BOB);
      expect(await (await verify({ ...someoneElse, signature: (await signIn()).signature })).json()).toMatchObject({ error: 'signature' });

      // a session token forged for Bob out of Alice's: the socket refuses it and drops the connection
      const events: VolunteerEvent[] = [];
      const forged = new VolunteerClient({ url, name: 'forger', backend: new CpuBackend(), session: session.sessionToken.replace(ALICE.address, BOB.address), onEvent: (e) => events.push(e) });
      forged.start();
      volunteers.push(forged);
      await expect.poll(() => events.find((e) => e.type === 'refused')).toMatchObject({ code: 'session' });
      await forged.stop();

      for (const [name, token] of [
        ['alice', session.sessionToken],
        ['anonymous', undefined],
      ] as const) {
        const v = new VolunteerClient({ url, name, backend: new CpuBackend(), ...(token ? { session: token } : {}) });
        v.start();
        volunteers.push(v);
      }
      await expect.poll(() => network.coordinator.finished, { timeout: 60_000 }).toBe(true);
      const committed = await network.stores.runs.tasks(network.runId);
      const aliceFlops = committed.filter((t) => t.volunteer === 'alice').reduce((a, t) => a + t.flops, 0);
      expect(aliceFlops).toBeGreaterThan(0);
      expect(committed.filter((t) => t.volunteer === 'anonymous').every((t) => t.address === null)).toBe(true);

      const view = await (await fetch(`${url}/ownership/${ALICE.address.toLowerCase()}`)).json();
      expect(view).toEqual({ address: ALICE.address, runId: network.runId, shares: String(aliceFlops), totalShares: String(aliceFlops), shareOfTotal: 1, epoch: null });
      expect(await (await fetch(`${url}/ownership/${BOB.address}`)).json()).toMatchObject({ shares: '0', shareOfTotal: 0 });
    } finally {
      for (const v of volunteers) await v.stop();
      await network.close();
    }
  }, 120_000);

  test('error: bad requests get a status and a message naming the value and the limit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'openshard-ownership-'));
    dirs.push(dataDir);
    const network = await startCoordinator({ ...DEFAULT_COORDINATOR, preset: 'micro', shards: 1, rounds: 1, port: 0, dataDir, evalBatches: 1 });
    const url = network.server.url;
    try {
      const notAddress = await fetch(`${url}/ownership/0x1234`);
      expect(notAddress.status).toBe(400);
      expect(await notAddress.json()).toEqual({ error: 'bad-address', message: "'0x1234' is not an Ethereum address (0x and 40 hex digits)" });
      const post = (body: string) => fetch(`${url}/siwe/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(await (await post('{"message": 1}')).json()).toMatchObject({ error: 'bad-request' });
      expect(await (await post('not json')).json()).toMatchObject({ error: 'bad-json' });
      const huge = await post(JSON.stringify({ message: 'x'.repeat(MAX_SIWE_BODY_BYTES), signature: '0x' }));
      expect(huge.status).toBe(413);
      expect(await huge.json()).toMatchObject({ error: 'too-large', message: expect.stringContaining(`limit of ${MAX_SIWE_BODY_BYTES}`) });
      expect((await fetch(`${url}/siwe/unknown`)).status).toBe(404);
    } finally {
      await network.close();
    }
  });
});

describe('the HTTP surface beside Socket.IO (loopback)', () => {
  test('error: an unknown path is 404, malformed JSON 400, and a body over a limit 413 naming the limit, all as JSON', async () => {
    const network = await startCoordinator({ ...SMALL, dataDir: freshDir() });
    const url = network.server.url;
    try {
      const unknown = await fetch(`${url}/no/such/route`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ error: 'not-found', message: 'no route GET /no/such/route' });
      const badJson = await fetch(`${url}/siwe/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message": ' });
      expect(badJson.status).toBe(400);
      expect(await badJson.json()).toEqual({ error: 'bad-json', message: 'request body is not JSON' });
      // any path: the app-wide limit is checked before a route (or its absence) is
      const huge = await fetch(`${url}/no/such/route`, { method: 'POST', body: 'x'.repeat(MAX_REQUEST_BODY_BYTES + 1) });
      expect(huge.status).toBe(413);
      expect(await huge.json()).toEqual({ error: 'too-large', message: `request body is ${MAX_REQUEST_BODY_BYTES + 1} bytes, above the limit of ${MAX_REQUEST_BODY_BYTES} bytes` });
      // without a content-length the body is counted as it arrives
      const chunks = new Blob(['{"message":"', 'x'.repeat(MAX_SIWE_BODY_BYTES), '"}']).stream();
      const streamed = await fetch(`${url}/siwe/verify`, { method: 'POST', body: chunks, duplex: 'half' } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(await streamed.json()).toEqual({ error: 'too-large', message: `request body is above the limit of ${MAX_SIWE_BODY_BYTES} bytes` });
    } finally {
      await network.close();
    }
  });

  test('behavior: Socket.IO answers /socket.io/ on the same port, the app answers /health', async () => {
    const network = await startCoordinator({ ...SMALL, dataDir: freshDir() });
    const url = network.server.url;
    // a second answer to the same request (the app's 404 after engine.io's) is only logged
    const logged = vi.spyOn(console, 'error');
    try {
      const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
      expect(handshake.status).toBe(200);
      // engine.io's open packet: '0' then the session
      expect(await handshake.text()).toMatch(/^0\{"sid":"[^"]+"/);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ round: 0, volunteers: 0 });
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
      await network.close();
    }
  });

  test('behavior: a nonce issued before the coordinator restarts signs in after it (nonces are in SQLite)', async () => {
    const dataDir = freshDir();
    const first = await startCoordinator({ ...SMALL, dataDir });
    const { nonce } = (await (await fetch(`${first.server.url}/siwe/nonce`)).json()) as { nonce: string };
    await first.close();
    const second = await startCoordinator({ ...SMALL, dataDir });
    try {
      const message = createSiweMessage({ domain: '127.0.0.1:5173', uri: WEB, chainId: 31337, address: ALICE.address, nonce, version: '1', issuedAt: new Date() });
      const signature = await ALICE.signMessage({ message });
      const verify = () => fetch(`${second.server.url}/siwe/verify`, { method: 'POST', body: JSON.stringify({ message, signature }) });
      const ok = await verify();
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ address: ALICE.address });
      // and is still taken once
      expect(await (await verify()).json()).toMatchObject({ error: 'nonce' });
    } finally {
      await second.close();
    }
  });
});

describe('sign-in nonces in SQLite', () => {
  test('behavior: a nonce is consumed once and only before it expires; prune bounds how many are kept; they outlive the connection', async () => {
    const path = join(freshDir(), 'openshard.sqlite');
    const first = await openSqliteStores(path);
    await first.nonces.issue('a', 1_000);
    await first.nonces.issue('b', 2_000);
    await first.nonces.issue('c', 3_000);
    await first.close();
    const { nonces, close } = await openSqliteStores(path);
    try {
      expect(await nonces.expiryOf('a')).toBe(1_000);
      expect(await nonces.consume('a', 1_000)).toBe(false); // expired at 1,000
      expect(await Promise.all([nonces.consume('b', 999), nonces.consume('b', 999)])).toEqual([true, false]);
      expect(await nonces.expiryOf('b')).toBeNull();
      await nonces.issue('d', 4_000);
      await nonces.prune(1_000, 1);
      expect([await nonces.expiryOf('a'), await nonces.expiryOf('c'), await nonces.expiryOf('d')]).toEqual([null, null, 4_000]);
    } finally {
      await close();
    }
  });
});
