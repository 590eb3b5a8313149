import { encode } from './tokenizer.ts';

/** A named text, the unit the train/validation split works on. */
export interface Document {
  name: string;
  text: string;
}

export interface Corpus {
  /** Where it came from, for logs and checkpoints. */
  source: string;
  train: Uint8Array;
  validation: Uint8Array;
  trainDocuments: number;
  validationDocuments: number;
}

/** Every VALIDATION_EVERY-th document (by name) is held out for validation. */
export const VALIDATION_EVERY = 10;
/** With a single document, this fraction at its end is held out instead. */
export const VALIDATION_FRACTION = 0.1;
/** Between documents, so the model sees where one ends. */
export const DOCUMENT_SEPARATOR = '\n\n';

/**
 * Splits by document, deterministically: documents sorted by name, every 10th to validation
 * (so every Brown genre is on both sides). A corpus of one document is split by position.
 */
export function splitCorpus(source: string, documents: readonly Document[]): Corpus {
  if (documents.length === 0) throw new Error(`${source}: no documents with text`);
  const sorted = [...documents].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (sorted.length === 1) {
    const bytes = encode(sorted[0].text);
    const cut = Math.floor(bytes.length * (1 - VALIDATION_FRACTION));
    return { source, train: bytes.slice(0, cut), validation: bytes.slice(cut), trainDocuments: 1, validationDocuments: 1 };
  }
  const train: string[] = [];
  const validation: string[] = [];
  sorted.forEach((d, i) => ((i + 1) % VALIDATION_EVERY === 0 ? validation : train).push(d.text));
  if (validation.length === 0) validation.push(train.pop()!);
  return {
    source,
    train: encode(train.join(DOCUMENT_SEPARATOR) + DOCUMENT_SEPARATOR),
    validation: encode(validation.join(DOCUMENT_SEPARATOR) + DOCUMENT_SEPARATOR),
    trainDocuments: train.length,
    validationDocuments: validation.length,
  };
}

/** Shannon entropy (nats per byte) of the byte frequencies: the loss of the best model that ignores context. */
export function unigramEntropy(bytes: Uint8Array): number {
  const counts = new Float64Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]]++;
  let h = 0;
  for (const c of counts) {
    if (c > 0) {
      const p = c / bytes.length;
      h -= p * Math.log(p);
    }
  }
  return h;
}
