import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ARTIFACTS_PATH, BUILD_COMMAND, compileContracts, renderArtifactsModule, SolidityCompileError } from '../scripts/compile.ts';

describe('generated artifacts', () => {
  test('behavior: the committed src/generated/artifacts.ts matches a fresh compile of contracts/', () => {
    const fresh = renderArtifactsModule(compileContracts());
    const committed = readFileSync(ARTIFACTS_PATH, 'utf8');
    expect(committed === fresh, `src/generated/artifacts.ts is out of date with contracts/: run \`${BUILD_COMMAND}\` and commit it`).toBe(true);
  });

  test('error: a compile error names file:line:column and the message', () => {
    const broken = 'pragma solidity ^0.8.24;\n\ncontract Broken {\n    function f() public { undefinedThing(); }\n}\n';
    const error = catchError(() => compileContracts({ 'contracts/Broken.sol': broken }));
    expect(error).toBeInstanceOf(SolidityCompileError);
    expect(error.message).toContain('contracts/Broken.sol:4:27: error: DeclarationError: Undeclared identifier.');
    expect(error.message).toContain(BUILD_COMMAND);
  });

  test('error: an import that resolves nowhere is reported with its path', () => {
    const source = 'pragma solidity ^0.8.24;\nimport "@openzeppelin/contracts/NoSuchFile.sol";\nimport "forge-std/Test.sol";\n';
    const error = catchError(() => compileContracts({ 'contracts/Imports.sol': source }));
    expect(error.message).toMatch(/contracts\/Imports\.sol:2:1: error: .*NoSuchFile\.sol/);
    expect(error.message).toMatch(/contracts\/Imports\.sol:3:1: error: .*only contracts\/… and @openzeppelin\/contracts\/… resolve/);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
