/** Byte-level tokenizer: a token is one byte of UTF-8, so any text works and the vocabulary is 256. */
export const BYTE_VOCAB_SIZE = 256;

const encoder = new TextEncoder();

export function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes that are not valid UTF-8 (a sample cut mid-character) decode to U+FFFD. */
export function decode(tokens: ArrayLike<number>): string {
  return new TextDecoder('utf-8').decode(Uint8Array.from(tokens));
}
