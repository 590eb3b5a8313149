/** Child process of bench/network.ts: N volunteer clients in one process, each on a CPU backend. */
import { CpuBackend } from '@openshard/tensor';
import { VolunteerClient } from '@openshard/volunteer';

const [url, count] = [process.argv[2], Number(process.argv[3])];
const clients = Array.from({ length: count }, (_, i) => new VolunteerClient({ url, name: `load-${i}`, backend: new CpuBackend() }));
for (const c of clients) c.start();
process.on('SIGTERM', async () => {
  await Promise.all(clients.map((c) => c.stop()));
  process.exit(0);
});
