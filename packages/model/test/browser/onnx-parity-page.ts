/// <reference lib="dom" />
import { decodeParity, shardParity } from './onnx-parity-cases.ts';

/** Entry points the Playwright spec calls inside the page. */
const api = {
  async adapter(): Promise<string | null> {
    const adapter = await navigator.gpu?.requestAdapter();
    return adapter ? `${adapter.info.vendor} ${adapter.info.architecture}` : null;
  },
  shardParity,
  decodeParity,
};

Object.assign(window, { onnxParityApi: api });
document.getElementById('log')!.textContent = 'ready';
