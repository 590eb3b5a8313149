import { ServingHost, type ServingBackend, type ServingEvent, type ServingLink } from '@openshard/volunteer/serving';
import type { VolunteerOptions } from '@openshard/volunteer';
import * as ort from 'onnxruntime-web';
// the default onnxruntime-web bundle embeds the JSEP (WebGPU + wasm) loader; only its .wasm is fetched
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import type { BackendChoice, ServedCount } from './worker-messages.ts';

/**
 * Serving in the volunteer worker: the tab runs its shard of the served model in onnxruntime-web,
 * on its WebGPU execution provider where the tab trains on WebGPU, else on wasm.
 *
 * One wasm thread: the worker trains as well, and the page must stay responsive. The .wasm URL is
 * Vite's (the dev server's node_modules path, or the hashed asset of `vite build`), so it is found
 * however the worker's own script was bundled.
 */
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
// each session warns that a few shape ops run on the CPU beside WebGPU: by design, not news for the console
ort.env.logLevel = 'error';

/** The execution providers to try, in order, for a tab training on `choice`. */
export function servingBackends(choice: BackendChoice): ServingBackend[] {
  return choice === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
}

/**
 * A serving host for the VolunteerClient; `onEvent` gets each event with its wording for the tab,
 * and `served` counts the steps answered.
 */
export function servingFor(choice: BackendChoice, served: ServedCount, onEvent: (event: ServingEvent, text: string) => void): NonNullable<VolunteerOptions['serving']> {
  const backends = servingBackends(choice);
  return (link) => {
    const counted: ServingLink = {
      ...link,
      stepped(m, output) {
        link.stepped(m, output);
        served.steps += 1;
        served.positions += output.shape[1];
      },
    };
    return new ServingHost(backends, counted, (e) => onEvent(e, describeServing(e, backends)));
  };
}

/** What the tab shows: which execution provider serves, and why it is not WebGPU when it is not. */
export function describeServing(e: ServingEvent, tried: readonly ServingBackend[]): string {
  if (e.type === 'serving-failed') return `Not serving: ${e.message}. This tab still trains; generations go to other volunteers or the coordinator.`;
  const provider = e.backend === 'webgpu' ? 'WebGPU' : tried.includes('webgpu') ? 'wasm: its WebGPU provider did not load' : 'wasm: no WebGPU';
  return `Serving shard ${e.shard} of ${e.modelId} with onnxruntime-web (${provider})`;
}
