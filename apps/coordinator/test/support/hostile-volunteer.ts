/**
 * A volunteer process that lies (test and benchmark support, never shipped): the real volunteer
 * runtime with a CheatingExecutor. Usage:
 *   node --import tsx apps/coordinator/test/support/hostile-volunteer.ts --url URL --name NAME --cheat random [--key 0x…]
 * Prints one line per event, as the real volunteer CLI does.
 */
import { parseArgs } from 'node:util';
import { CpuBackend } from '@openshard/tensor';
import { describeEvent, signIn, VolunteerClient } from '@openshard/volunteer';
import { privateKeyToAccount } from 'viem/accounts';
import { CHEATS, CheatingExecutor, type Cheat } from './cheats.ts';

const { values: f } = parseArgs({ options: { url: { type: 'string' }, name: { type: 'string' }, cheat: { type: 'string' }, key: { type: 'string' } }, strict: true });
const cheat = f.cheat as Cheat;
if (!CHEATS.includes(cheat)) throw new Error(`--cheat is '${f.cheat}'; choose one of ${CHEATS.join(', ')}`);
const url = f.url ?? 'http://127.0.0.1:8600';
const name = f.name ?? `cheat-${cheat}`;
const session = f.key ? (await signIn(url, privateKeyToAccount(f.key as `0x${string}`))).sessionToken : undefined;
const client = new VolunteerClient({
  url,
  name,
  backend: new CpuBackend(),
  executor: (backend) => new CheatingExecutor(backend, cheat),
  ...(session ? { session } : {}),
  onEvent: (e) => console.log(`[${name}] ${describeEvent(e)}`),
});
client.start();
process.on('SIGTERM', () => void client.stop().then(() => process.exit(0)));
