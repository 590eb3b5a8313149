/**
 * npm run build:contracts
 * Compiles packages/contracts/contracts/ and writes src/generated/artifacts.ts (committed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { ARTIFACTS_PATH, compileContracts, formatDiagnostic, renderArtifactsModule, SolidityCompileError } from './compile.ts';

try {
  const t0 = performance.now();
  const result = compileContracts();
  for (const w of result.warnings) console.warn(formatDiagnostic(w));
  mkdirSync(dirname(ARTIFACTS_PATH), { recursive: true });
  writeFileSync(ARTIFACTS_PATH, renderArtifactsModule(result));
  for (const c of result.contracts) console.log(`${c.name.padEnd(24)} ${(c.bytecode.length - 2) / 2} bytes of creation code`);
  console.log(`wrote ${relative(process.cwd(), ARTIFACTS_PATH)} with solc ${result.solcVersion} in ${Math.round(performance.now() - t0)} ms`);
} catch (error) {
  if (!(error instanceof SolidityCompileError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
