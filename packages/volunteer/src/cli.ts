import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CpuBackend, type Backend } from '@openshard/tensor';
import { describeEvent } from './describe-event.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { SessionKeeper } from './session-keeper.ts';
import { signIn } from './sign-in.ts';
import type { VolunteerEvent } from './events.ts';
import { VolunteerClient, type VolunteerOptions } from './volunteer.ts';

const USAGE = `usage: openshard-volunteer --url http://127.0.0.1:8600 [--backend cpu|webgpu] [--name NAME]
  --slowdown F   stretch every task to F times its compute time (to test stragglers)
  --key 0x…      sign in with this wallet key (or OPENSHARD_VOLUNTEER_KEY): accepted work accrues shares to it;
                 it signs in again before the session expires, and whenever the coordinator refuses it;
                 without a key the volunteer contributes but accrues nothing
  --no-serve     train only: do not serve the shard's part of generations (onnxruntime-web, wasm);
                 it exits once the run is complete (serving, it keeps serving)`;

async function main(): Promise<void> {
  let f: { url?: string; backend?: string; name?: string; slowdown?: string; key?: string; 'no-serve'?: boolean; help?: boolean };
  try {
    f = parseArgs({
      options: {
        url: { type: 'string' },
        backend: { type: 'string' },
        name: { type: 'string' },
        slowdown: { type: 'string' },
        key: { type: 'string' },
        'no-serve': { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    process.exit(1);
  }
  if (f.help) return void console.log(USAGE);
  const url = f.url ?? 'http://127.0.0.1:8600';
  const slowdown = f.slowdown === undefined ? 1 : Number(f.slowdown);
  if (!(slowdown >= 1)) throw new Error(`--slowdown is '${f.slowdown}'; it must be a number ≥ 1`);
  const name = f.name ?? `${hostname()}-${process.pid}`;
  let backend: Backend;
  if ((f.backend ?? 'cpu') === 'cpu') backend = new CpuBackend();
  else if (f.backend === 'webgpu') backend = await (await import('@openshard/tensor/node')).createNodeWebGpuBackend();
  else throw new Error(`--backend is '${f.backend}'; choose cpu or webgpu`);
  const key = f.key ?? process.env.OPENSHARD_VOLUNTEER_KEY;
  const log = (text: string) => console.log(`[${name}] ${text}`);
  let keeper: SessionKeeper | null = null;
  let session: string | undefined;
  let client: VolunteerClient | null = null;
  const stop = async (code = 0) => {
    keeper?.stop();
    await client?.stop();
    backend.destroy();
    process.exit(code);
  };
  if (key !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error('--key must be 32 bytes of 0x-prefixed hex');
    const account = privateKeyToAccount(key as `0x${string}`);
    keeper = new SessionKeeper({
      signIn: () => signIn(url, account),
      onSession: (s) => {
        session = s.sessionToken;
        client?.setSession(s.sessionToken);
      },
      say: log,
      giveUp: (reason) => {
        console.error(`[${name}] error: ${reason}`);
        void stop(1);
      },
    });
    const signed = await keeper.start();
    session = signed.sessionToken;
    log(`signed in as ${signed.address} until ${new Date(signed.expiresAt).toISOString()}`);
  } else {
    log('no wallet: contributing without accruing shares (--key to sign in)');
  }
  const serving = f['no-serve'] ? undefined : await servingHost(log);
  const onEvent = (e: VolunteerEvent) => {
    log(describeEvent(e));
    if (e.type === 'joined') keeper?.joined();
    if (e.type === 'refused' && e.code === 'session') keeper?.refused(e.message);
    if (e.type !== 'finished') return;
    if (!serving) return void stop(0);
    log('still serving its shard for generations (Ctrl-C to stop)');
  };
  client = new VolunteerClient({ url, name, backend, slowdown, ...(session ? { session } : {}), ...(serving ? { serving } : {}), onEvent });
  client.start();
  process.on('SIGINT', () => stop());
  process.on('SIGTERM', () => stop());
}

/** Serving on onnxruntime-web's wasm backend, one thread (the process trains as well). */
async function servingHost(log: (text: string) => void): Promise<NonNullable<VolunteerOptions['serving']>> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const { ServingHost } = await import('./serving/serving-host.ts');
  return (link) => new ServingHost(['wasm'], link, (e) => log(e.type === 'serving' ? `serving shard ${e.shard} of ${e.modelId} on onnxruntime-web (${e.backend})` : `could not serve: ${e.message}`));
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
