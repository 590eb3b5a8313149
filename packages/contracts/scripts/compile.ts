/**
 * Compiles packages/contracts/contracts/**.sol with npm `solc` (standard JSON, optimizer on) and
 * renders the generated TypeScript module of ABIs and bytecodes. Pure apart from reading sources:
 * scripts/build.ts writes the file, test/artifacts.test.ts checks the committed one is current.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import type { Abi, Hex } from 'viem';

export const BUILD_COMMAND = 'npm run build:contracts';
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS_PATH = join(PACKAGE_DIR, 'src', 'generated', 'artifacts.ts');
const SOURCES_DIR = 'contracts';
const OPENZEPPELIN_PREFIX = '@openzeppelin/contracts/';
/** Tuned for calls: claims and publications run many times, deployment once. */
export const OPTIMIZER_RUNS = 10_000;
/** Cancun (PUSH0, MCOPY, transient storage opcodes) runs on mainnet and the major L2s. */
export const EVM_VERSION = 'cancun';

export interface CompiledContract {
  name: string;
  /** Source unit, relative to packages/contracts, e.g. `contracts/RevenueDistributor.sol`. */
  source: string;
  abi: Abi;
  bytecode: Hex;
}

export interface SolidityDiagnostic {
  severity: 'error' | 'warning' | 'info';
  /** `file:line:column`, or `solc` when the message is not tied to a source. */
  location: string;
  message: string;
}

export class SolidityCompileError extends Error {
  override name = 'SolidityCompileError';
  constructor(readonly diagnostics: readonly SolidityDiagnostic[]) {
    super(`solc found ${diagnostics.length} error(s):\n${diagnostics.map(formatDiagnostic).join('\n')}\nFix packages/contracts/contracts/, then run \`${BUILD_COMMAND}\`.`);
  }
}

export function formatDiagnostic(d: SolidityDiagnostic): string {
  return `${d.location}: ${d.severity}: ${d.message}`;
}

/** Every .sol file under packages/contracts/contracts, keyed by its path relative to the package. */
export function readContractSources(): Record<string, string> {
  const sources: Record<string, string> = {};
  const root = join(PACKAGE_DIR, SOURCES_DIR);
  for (const entry of readdirSync(root, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!entry.endsWith('.sol')) continue;
    const key = relative(PACKAGE_DIR, join(root, entry)).split(sep).join('/');
    sources[key] = readFileSync(join(root, entry), 'utf8');
  }
  return sources;
}

export interface CompileResult {
  solcVersion: string;
  contracts: CompiledContract[];
  warnings: SolidityDiagnostic[];
}

interface SolcError {
  severity: 'error' | 'warning' | 'info';
  type: string;
  message: string;
  sourceLocation?: { file: string; start: number };
}

interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

/** Throws SolidityCompileError listing every error with file:line:column. */
export function compileContracts(sources: Record<string, string> = readContractSources()): CompileResult {
  const read = new Map(Object.entries(sources));
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([k, content]) => [k, { content }])),
    settings: {
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const findImports = (path: string) => {
    const found = resolveImport(path);
    if ('contents' in found) read.set(path, found.contents);
    return found;
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;

  const diagnostics = (output.errors ?? []).map((e) => toDiagnostic(e, read));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new SolidityCompileError(errors);

  const contracts: CompiledContract[] = [];
  for (const source of Object.keys(sources)) {
    for (const [name, c] of Object.entries(output.contracts?.[source] ?? {})) {
      // Interfaces and abstract contracts have no bytecode and nothing to deploy.
      if (c.evm.bytecode.object === '') continue;
      contracts.push({ name, source, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` });
    }
  }
  contracts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { solcVersion: solc.version() as string, contracts, warnings: diagnostics.filter((d) => d.severity !== 'error') };
}

const require = createRequire(import.meta.url);

/** solc asks for every import it cannot find among the inputs, already resolved to a full path. */
function resolveImport(path: string): { contents: string } | { error: string } {
  let file: string;
  if (path.startsWith(OPENZEPPELIN_PREFIX)) {
    let packageDir: string;
    try {
      packageDir = dirname(require.resolve('@openzeppelin/contracts/package.json'));
    } catch {
      return { error: `cannot import '${path}': @openzeppelin/contracts is not installed (run npm install at the repo root)` };
    }
    file = join(packageDir, path.slice(OPENZEPPELIN_PREFIX.length));
  } else if (path.startsWith(`${SOURCES_DIR}/`)) {
    file = join(PACKAGE_DIR, path);
  } else {
    return { error: `cannot import '${path}': only ${SOURCES_DIR}/… and ${OPENZEPPELIN_PREFIX}… resolve` };
  }
  try {
    return { contents: readFileSync(file, 'utf8') };
  } catch {
    return { error: `cannot import '${path}': no file at ${file}` };
  }
}

function toDiagnostic(e: SolcError, read: Map<string, string>): SolidityDiagnostic {
  const message = `${e.type}: ${e.message}`;
  if (!e.sourceLocation) return { severity: e.severity, location: 'solc', message };
  const { file, start } = e.sourceLocation;
  const content = read.get(file);
  if (content === undefined || start < 0) return { severity: e.severity, location: file, message };
  const before = content.slice(0, start).split('\n');
  return { severity: e.severity, location: `${file}:${before.length}:${before[before.length - 1].length + 1}`, message };
}

/** The generated module's text; byte-for-byte reproducible from the same sources and solc. */
export function renderArtifactsModule({ solcVersion, contracts }: CompileResult): string {
  const lines = [
    `// GENERATED FILE, do not edit. Regenerate with \`${BUILD_COMMAND}\` (packages/contracts/scripts/build.ts).`,
    '// test/artifacts.test.ts fails when this file no longer matches packages/contracts/contracts/.',
    '',
    '/** How these artifacts were compiled. */',
    `export const compiler = { solc: '${solcVersion}', optimizerRuns: ${OPTIMIZER_RUNS}, evmVersion: '${EVM_VERSION}' } as const;`,
  ];
  for (const c of contracts) {
    const id = c.name[0].toLowerCase() + c.name.slice(1);
    lines.push(
      '',
      `/** ${c.name} from packages/contracts/${c.source} */`,
      `export const ${id}Abi = [`,
      ...c.abi.map((item) => `  ${JSON.stringify(item)},`),
      '] as const;',
      '',
      `export const ${id}Bytecode = '${c.bytecode}' as const;`,
    );
  }
  return `${lines.join('\n')}\n`;
}
