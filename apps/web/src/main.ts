import { CpuBackend, WebGpuBackend, WebGpuUnavailableError } from '@openshard/tensor';
import { runParity } from '@openshard/tensor/parity';

const $ = (id: string) => document.getElementById(id)!;

async function main(): Promise<void> {
  let gpu: WebGpuBackend;
  try {
    gpu = await WebGpuBackend.create();
  } catch (e) {
    $('capability').textContent =
      e instanceof WebGpuUnavailableError
        ? `No WebGPU here: ${e.message}. Chrome and Edge 113+ have it on by default; on Linux start Chromium with --enable-unsafe-webgpu.`
        : `WebGPU failed to start: ${(e as Error).message}`;
    return;
  }
  const a = gpu.adapterSummary;
  $('capability').textContent =
    `WebGPU adapter: ${gpu.adapterName}${a.isFallbackAdapter ? ' (software fallback: slow)' : ''}; ` +
    `largest buffer ${Math.round(a.limits.maxStorageBufferBindingSize / 2 ** 20)} MiB, ` +
    `${a.limits.maxComputeInvocationsPerWorkgroup} threads per workgroup.`;
  const button = $('check') as HTMLButtonElement;
  button.disabled = false;
  button.onclick = async () => {
    button.disabled = true;
    $('verdict').textContent = 'Checking…';
    const t0 = performance.now();
    const rows = await runParity(new CpuBackend(), gpu);
    const failed = rows.filter((r) => !r.ok);
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    $('verdict').textContent = failed.length === 0
      ? `Passed: ${rows.length} outputs of every op, forward and backward, match the CPU reference (${seconds} s).`
      : `Failed: ${failed.length} of ${rows.length} outputs differ from the CPU reference. This GPU should not contribute.`;
    const details = $('details');
    details.hidden = false;
    details.textContent = rows
      .map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.case} · ${r.output}: max |Δ| ${r.maxAbsError.toExponential(1)}`)
      .join('\n');
    button.disabled = false;
  };
}

void main();
