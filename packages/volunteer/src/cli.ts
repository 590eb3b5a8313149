import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CpuBackend, type Backend } from '@openshard/tensor';
import { describeEvent } from './describe-event.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { signIn } from './sign-in.ts';
import { VolunteerClient } from './volunteer.ts';

const USAGE = `usage: openshard-volunteer --url http://127.0.0.1:8600 [--backend cpu|webgpu] [--name NAME]
  --slowdown F   stretch every task to F times its compute time (to test stragglers)
  --key 0x…      sign in with this wallet key (or OPENSHARD_VOLUNTEER_KEY): accepted work accrues shares to it;
                 without a key the volunteer contributes but accrues nothing`;

async function main(): Promise<void> {
  let f: { url?: string; backend?: string; name?: string; slowdown?: string; key?: string; help?: boolean };
  try {
    f = parseArgs({
      options: { url: { type: 'string' }, backend: { type: 'string' }, name: { type: 'string' }, slowdown: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean' } },
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
  let session: string | undefined;
  if (key !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error('--key must be 32 bytes of 0x-prefixed hex');
    const signed = await signIn(url, privateKeyToAccount(key as `0x${string}`));
    session = signed.sessionToken;
    console.log(`[${name}] signed in as ${signed.address} until ${new Date(signed.expiresAt).toISOString()}`);
  } else {
    console.log(`[${name}] no wallet: contributing without accruing shares (--key to sign in)`);
  }
  const client = new VolunteerClient({ url, name, backend, slowdown, ...(session ? { session } : {}), onEvent: (e) => console.log(`[${name}] ${describeEvent(e)}`) });
  client.start();
  const stop = async () => {
    await client.stop();
    backend.destroy();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
