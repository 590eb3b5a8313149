import { adapterName, summarizeAdapter, type AdapterSummary } from '@openshard/tensor';

export type Capability = { kind: 'checking' } | { kind: 'webgpu'; name: string; summary: AdapterSummary } | { kind: 'none'; reason: string };

export const ENABLE_WEBGPU_HELP =
  'Chrome and Edge 113+ have it on by default (check chrome://gpu); on Linux start Chromium with --enable-unsafe-webgpu; ' + 'Firefox 141+ and Safari 26+ have it on some systems.';

/** Whether this browser offers a WebGPU adapter, and which. Asks for no device. */
export async function detectWebGpu(): Promise<Capability> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { kind: 'none', reason: 'this browser has no navigator.gpu' };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { kind: 'none', reason: 'WebGPU is present but no adapter was found' };
    const summary = summarizeAdapter(adapter);
    return { kind: 'webgpu', name: adapterName(summary), summary };
  } catch (e) {
    return { kind: 'none', reason: `asking for an adapter failed: ${(e as Error).message}` };
  }
}
