import { CpuBackend, WebGpuBackend } from '@openshard/tensor';
import { runParity } from '@openshard/tensor/parity';
import { useState } from 'react';

interface Verdict {
  text: string;
  details: string;
}

/** Every op on this GPU against the CPU reference: a GPU that computes wrong answers should not contribute. */
export function KernelCheck() {
  const [running, setRunning] = useState(false);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const run = async () => {
    setRunning(true);
    setVerdict({ text: 'Checking…', details: '' });
    const t0 = performance.now();
    let gpu: WebGpuBackend | null = null;
    try {
      gpu = await WebGpuBackend.create();
      const rows = await runParity(new CpuBackend(), gpu);
      const failed = rows.filter((r) => !r.ok);
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      setVerdict({
        text:
          failed.length === 0
            ? `Passed: ${rows.length} outputs of every op, forward and backward, match the CPU reference (${seconds} s).`
            : `Failed: ${failed.length} of ${rows.length} outputs differ from the CPU reference. This GPU should not contribute.`,
        details: rows.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.case} · ${r.output}: max |Δ| ${r.maxAbsError.toExponential(1)}`).join('\n'),
      });
    } catch (e) {
      setVerdict({ text: `The check could not run: ${(e as Error).message}`, details: '' });
    } finally {
      gpu?.destroy();
      setRunning(false);
    }
  };
  return (
    <div>
      <p>Every op runs on WebGPU and on the CPU reference, forward and backward, and the results are compared.</p>
      <button type="button" id="check" onClick={run} disabled={running}>
        Run the kernel check
      </button>
      <p id="verdict" role="status">
        {verdict?.text}
      </p>
      {verdict?.details ? <pre id="details">{verdict.details}</pre> : null}
    </div>
  );
}
