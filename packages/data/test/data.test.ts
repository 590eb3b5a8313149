import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { brownDocumentText, decode, detokenizeSentence, encode, MicroBatchSampler, splitCorpus, unigramEntropy, validationBatches } from '../src/index.ts';
import { loadBrownCorpus, loadTextCorpus } from '../src/node.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('byte tokenizer', () => {
  test('behavior: any UTF-8 text round-trips through 256 byte tokens', () => {
    const text = 'naïve café — 東京 🚀';
    const ids = encode(text);
    expect(Math.max(...ids)).toBeLessThan(256);
    expect(decode(ids)).toBe(text);
    expect(decode(ids.slice(0, ids.length - 1))).toContain('\uFFFD');
  });
});

describe('Brown corpus', () => {
  test('behavior: tags are stripped and tokens rejoined into readable text', () => {
    const line = "\tThe/at Fulton/np-tl jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, (/( Atlanta's/np$ )/) 1/2/cd ./.";
    expect(detokenizeSentence(line)).toBe(`The Fulton jury said "no evidence", (Atlanta's) 1/2.`);
    expect(brownDocumentText('\n\n\tOne/cd ./.\n\n\n\tTwo/cd !/.\n')).toBe('One. Two!');
  });

  test('behavior: loads all 500 documents, split 450/50 by document, the same every time', () => {
    const a = loadBrownCorpus();
    expect([a.trainDocuments, a.validationDocuments]).toEqual([450, 50]);
    expect(a.train.length).toBeGreaterThan(5_000_000);
    expect(decode(a.train.subarray(0, 60))).toBe('The Fulton County Grand Jury said Friday an investigation of');
    expect(decode(a.train.subarray(0, 1_000_000))).not.toMatch(/\/(at|nn|vbd|np)\b/);
    const b = loadBrownCorpus();
    expect(b.validation).toEqual(a.validation);
    // English bytes: between 4 and 5 bits each
    expect(unigramEntropy(a.train) / Math.LN2).toBeGreaterThan(4);
    expect(unigramEntropy(a.train) / Math.LN2).toBeLessThan(5);
  });
});

describe('own text', () => {
  test('behavior: a folder is split by document, a single file by position', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openshard-data-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'sub'));
    for (let i = 0; i < 12; i++) writeFileSync(join(dir, i % 2 ? 'sub' : '', `doc${String(i).padStart(2, '0')}.txt`), `document ${i}`);
    writeFileSync(join(dir, 'ignored.bin'), 'binary');
    const folder = loadTextCorpus(dir);
    expect([folder.trainDocuments, folder.validationDocuments]).toEqual([11, 1]);
    expect(decode(folder.train)).not.toContain('binary');
    const file = loadTextCorpus(join(dir, 'doc00.txt'));
    expect(decode(file.train) + decode(file.validation)).toBe('document 0');
    expect(() => loadTextCorpus(join(dir, 'missing'))).toThrow(`corpus path '${join(dir, 'missing')}' does not exist`);
  });

  test('error: a corpus without text is refused', () => {
    expect(() => splitCorpus('empty', [])).toThrow('empty: no documents with text');
  });
});

describe('micro-batch sampler', () => {
  const tokens = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

  test('behavior: targets are inputs shifted by one, and an epoch deals every window exactly once', () => {
    const s = new MicroBatchSampler(tokens, 3, 10, 7);
    expect(s.windows).toBe(99);
    const starts: number[] = [];
    for (let k = 0; k < 33; k++) {
      const b = s.next();
      for (let i = 0; i < 3; i++) {
        expect(Array.from(b.targets.subarray(i * 10, i * 10 + 9))).toEqual(Array.from(b.inputs.subarray(i * 10 + 1, i * 10 + 10)));
        starts.push(b.inputs[i * 10]);
      }
    }
    expect(s.state).toEqual({ epoch: 0, cursor: 99 });
    expect(new Set(starts.map((x) => x)).size).toBeGreaterThan(90);
    s.next();
    expect(s.state).toEqual({ epoch: 1, cursor: 3 });
  });

  test('behavior: restoring (epoch, cursor) yields exactly the micro-batches that would have come next', () => {
    const a = new MicroBatchSampler(tokens, 4, 16, 3);
    for (let i = 0; i < 17; i++) a.next();
    const b = new MicroBatchSampler(tokens, 4, 16, 3, a.state);
    for (let i = 0; i < 30; i++) expect(b.next()).toEqual(a.next());
    expect(new MicroBatchSampler(tokens, 4, 16, 4).next()).not.toEqual(new MicroBatchSampler(tokens, 4, 16, 3).next());
  });

  test('behavior: validation batches are fixed and spread over the text', () => {
    const v = validationBatches(tokens, 2, 10, 3);
    expect(v).toHaveLength(3);
    expect(validationBatches(tokens, 2, 10, 3)).toEqual(v);
    expect(v[2].inputs[10]).toBeGreaterThan(v[0].inputs[0]);
  });

  test('error: impossible sizes and states name the value and the limit', () => {
    expect(() => new MicroBatchSampler(tokens.subarray(0, 10), 1, 10, 1)).toThrow('the training text has 10 tokens; sequences of 10 need at least 11');
    expect(() => new MicroBatchSampler(tokens, 0, 10, 1)).toThrow('micro-batch size B is 0');
    expect(() => new MicroBatchSampler(tokens, 1, 10, 1, { epoch: 0, cursor: 100 })).toThrow('outside this corpus (epochs ≥ 0, cursor 0…99)');
    expect(() => validationBatches(tokens.subarray(0, 30), 4, 10, 1)).toThrow('fewer than one micro-batch of 4×11');
  });
});
