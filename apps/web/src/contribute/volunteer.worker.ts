/// <reference lib="webworker" />
import { CpuBackend, WebGpuBackend, type Backend } from '@openshard/tensor';
import { describeEvent, VolunteerClient } from '@openshard/volunteer';
import { servingFor } from './serving.ts';
import { STATS_INTERVAL_MS, type BackendChoice, type ServedCount, type FromWorker, type ToWorker } from './worker-messages.ts';

/**
 * The volunteer runtime off the page's thread: GPU submissions, tensor decoding and socket
 * traffic never make the page stutter. A thin shell around packages/volunteer: it trains its shard
 * and serves it for generations (onnxruntime-web, see serving.ts).
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;
let client: VolunteerClient | null = null;
let statsTimer: ReturnType<typeof setInterval> | null = null;

const post = (m: FromWorker) => scope.postMessage(m);

async function createBackend(choice: BackendChoice): Promise<Backend> {
  return choice === 'webgpu' ? WebGpuBackend.create() : new CpuBackend();
}

async function start(m: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const served: ServedCount = { steps: 0, positions: 0 };
  const backend = await createBackend(m.backend);
  post({ type: 'started', backend: m.backend, adapter: backend instanceof WebGpuBackend ? backend.adapterName : 'CPU (JavaScript)' });
  client = new VolunteerClient({
    url: m.url,
    name: m.name,
    backend,
    dutyCycle: m.dutyCycle,
    slowdown: m.slowdown,
    ...(m.session ? { session: m.session } : {}),
    recreateBackend: () => createBackend(m.backend),
    serving: servingFor(m.backend, served, (event, text) => post({ type: 'serving', at: Date.now(), event, text })),
    onEvent: (event) => post({ type: 'event', at: Date.now(), event, text: describeEvent(event) }),
  });
  client.start();
  statsTimer = setInterval(() => client && post({ type: 'stats', at: Date.now(), stats: client.stats, served: { ...served } }), STATS_INTERVAL_MS);
}

scope.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    switch (m.type) {
      case 'start':
        return await start(m);
      case 'pause':
        return client?.pause(m.reason);
      case 'resume':
        return client?.resume(m.reason);
      case 'duty-cycle':
        return client?.setDutyCycle(m.value);
      case 'lose-device':
        return client?.loseDevice();
      case 'stop':
        if (statsTimer) clearInterval(statsTimer);
        await client?.stop();
        client = null;
        return;
    }
  } catch (err) {
    post({ type: 'failed', message: (err as Error).message });
  }
};
