import { describe, expect, test } from 'vitest';
import { clientMessages, DEFAULT_LIMITS, decodeTensor, encodeTensor, fromHalf, packTensors, parseMessage, ProtocolError, SERVER_MESSAGE_LIMITS, serverMessages, toHalf } from '../src/index.ts';

const grads = [
  { name: 'dx', dtype: 'f32' as const, shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1) },
  { name: 'transformer.h.0.ln_1.bias', dtype: 'f32' as const, shape: [4], data: Float32Array.from([0.5, -0.25, 1e-8, 3]) },
];

function result(tensors = grads, extra: object = {}) {
  const { headers, attachments } = packTensors(tensors);
  return { json: { leaseId: 'L1', computeMs: 12.5, tensors: headers, ...extra }, attachments };
}

function refusal(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError');
}

describe('tensor frames', () => {
  test('behavior: fp32 and i32 round-trip exactly, from unaligned attachments too', () => {
    for (const t of [grads[0], { name: 'ids', dtype: 'i32' as const, shape: [5], data: Int32Array.from([0, 255, -1, 7, 2 ** 30]) }]) {
      const { header, bytes } = encodeTensor(t);
      const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
      unaligned.set(bytes);
      expect(decodeTensor(header, unaligned, { finite: true, maxMagnitude: DEFAULT_LIMITS.maxMagnitude })).toEqual(t);
    }
  });

  test('behavior: fp16 halves the bytes and rounds to nearest even', () => {
    const t = { name: 'x', dtype: 'f32' as const, shape: [6], data: Float32Array.from([1, -2, 65504, 2 ** -24, 1 + 2 ** -11, 1 + 3 * 2 ** -11]) };
    const { header, bytes } = encodeTensor(t, 'fp16');
    expect(bytes.byteLength).toBe(12);
    expect(Array.from(decodeTensor(header, bytes, { finite: true, maxMagnitude: DEFAULT_LIMITS.maxMagnitude }).data)).toEqual([1, -2, 65504, 2 ** -24, 1, 1 + 2 ** -9]);
    expect(fromHalf(toHalf(70000))).toBe(Infinity);
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 3);
  });
});

describe('parseMessage', () => {
  test('behavior: a valid result is parsed with its tensors decoded in header order', () => {
    const { json, attachments } = result();
    const parsed = parseMessage(clientMessages, 'result', json, attachments, { finite: true });
    expect(parsed.message.leaseId).toBe('L1');
    expect(parsed.tensors).toEqual(grads);
  });

  test('error: each kind of bad input is refused with a code and a message naming the value and the limit', () => {
    const { json, attachments } = result();
    const cases: [string, () => unknown, string, string | RegExp][] = [
      [
        'unknown type',
        () => parseMessage(clientMessages, 'mine-bitcoin' as 'result', json, attachments, { finite: true }),
        'unknown-type',
        'unknown message type "mine-bitcoin"; expected one of hello, ready, result, gradients, giveBack, availability, serving, stepped, stepFailed',
      ],
      ['missing field', () => parseMessage(clientMessages, 'result', { ...json, leaseId: undefined }, attachments, { finite: true }), 'bad-message', /^result: leaseId: /],
      ['extra field', () => parseMessage(clientMessages, 'result', { ...json, address: '0xabc' }, attachments, { finite: true }), 'bad-message', /^result: message: Unrecognized key/],
      ['negative time', () => parseMessage(clientMessages, 'result', { ...json, computeMs: -1 }, attachments, { finite: true }), 'bad-message', /^result: computeMs: /],
      ['NaN loss', () => parseMessage(clientMessages, 'result', { ...json, loss: NaN }, attachments, { finite: true }), 'bad-message', /^result: loss: /],
      [
        'bad dtype',
        () => parseMessage(clientMessages, 'result', { ...json, tensors: [{ ...json.tensors[0], dtype: 'f64' }, json.tensors[1]] }, attachments, { finite: true }),
        'bad-message',
        /^result: tensors\.0\.dtype: /,
      ],
      [
        'zero dim',
        () => parseMessage(clientMessages, 'result', { ...json, tensors: [{ ...json.tensors[0], shape: [0, 24] }, json.tensors[1]] }, attachments, { finite: true }),
        'bad-message',
        /^result: tensors\.0\.shape\.0: /,
      ],
      [
        'wrong byte count',
        () => parseMessage(clientMessages, 'result', { ...json, tensors: [{ ...json.tensors[0], shape: [2, 3, 5] }, json.tensors[1]] }, attachments, { finite: true }),
        'bad-tensor',
        'result: the attachment has 112 bytes; the tensor headers need 136',
      ],
      ['missing attachment', () => parseMessage(clientMessages, 'result', json, [], { finite: true }), 'bad-message', 'result: 0 binary attachments; the tensors travel in exactly one'],
      [
        'split attachments',
        () => parseMessage(clientMessages, 'result', json, [attachments[0].subarray(0, 96), attachments[0].subarray(96)], { finite: true }),
        'bad-message',
        'result: 2 binary attachments; the tensors travel in exactly one',
      ],
      [
        'stray attachment',
        () => parseMessage(clientMessages, 'giveBack', { leaseId: 'L', reason: 'r' }, attachments, { finite: true }),
        'bad-message',
        'giveBack: 1 binary attachments but no tensor headers',
      ],
      ['text attachment', () => parseMessage(clientMessages, 'result', json, ['abc'], { finite: true }), 'bad-tensor', 'result: the attachment is not binary'],
      [
        'duplicate name',
        () => parseMessage(clientMessages, 'result', { ...json, tensors: [json.tensors[1], json.tensors[1]] }, attachments, { finite: true }),
        'bad-tensor',
        "result: tensor 'transformer.h.0.ln_1.bias' appears twice",
      ],
      [
        'rank',
        () =>
          parseMessage(
            clientMessages,
            'result',
            result([{ name: 'r', dtype: 'f32', shape: [1, 1, 1, 1, 2], data: new Float32Array(2) }]).json,
            result([{ name: 'r', dtype: 'f32', shape: [1, 1, 1, 1, 2], data: new Float32Array(2) }]).attachments,
            { finite: true },
          ),
        'bad-tensor',
        "result: tensor 'r' has 5 dimensions, above the limit of 4",
      ],
      [
        'too many tensors',
        () => parseMessage(clientMessages, 'result', json, attachments, { finite: true, limits: { ...DEFAULT_LIMITS, maxTensors: 1 } }),
        'too-large',
        'result: 2 tensors, above the limit of 1',
      ],
      [
        'oversized',
        () => parseMessage(clientMessages, 'result', json, attachments, { finite: true, limits: { ...DEFAULT_LIMITS, maxMessageBytes: 100 } }),
        'too-large',
        'result: tensors add up to more than the limit of 100 bytes',
      ],
      [
        'huge JSON',
        () => parseMessage(clientMessages, 'giveBack', { leaseId: 'L', reason: 'x'.repeat(300_000) }, [], { finite: true }),
        'too-large',
        /^giveBack: JSON part is \d+ bytes, above the limit of 262144$/,
      ],
    ];
    for (const [what, f, code, message] of cases) {
      const e = refusal(f);
      expect(e.code, what).toBe(code);
      if (typeof message === 'string') expect(e.message, what).toBe(message);
      else expect(e.message, what).toMatch(message);
    }
  });

  test('error: NaN and Inf in a result tensor are refused with the index; weights from the coordinator may be checked the same way', () => {
    const bad = [{ ...grads[0], data: Float32Array.from(grads[0].data) }];
    bad[0].data[5] = Infinity;
    const { json, attachments } = result(bad);
    const e = refusal(() => parseMessage(clientMessages, 'result', json, attachments, { finite: true }));
    expect([e.code, e.message]).toEqual(['non-finite', "result: tensor 'dx' holds Infinity at index 5"]);
    expect(parseMessage(clientMessages, 'result', json, attachments, { finite: false }).tensors[0].data[5]).toBe(Infinity);
  });

  test("error: a finite value too large to square in float32 downstream is refused with its index and the limit; the limit is the deployment's", () => {
    const huge = [{ ...grads[0], data: Float32Array.from(grads[0].data) }];
    huge[0].data[3] = -2e9;
    const { json, attachments } = result(huge);
    const e = refusal(() => parseMessage(clientMessages, 'result', json, attachments, { finite: true }));
    expect([e.code, e.message]).toEqual(['too-large', "result: tensor 'dx' holds -2000000000 at index 3, above the limit of 1000000000 in magnitude"]);
    const raised = { ...DEFAULT_LIMITS, maxMagnitude: 1e10 };
    expect(parseMessage(clientMessages, 'result', json, attachments, { finite: true, limits: raised }).tensors[0].data[3]).toBe(-2e9);
    huge[0].data[3] = 1e9;
    const limit = result(huge);
    expect(parseMessage(clientMessages, 'result', limit.json, limit.attachments, { finite: true }).tensors[0].data[3]).toBe(1e9);
    // what the coordinator sends is checked for finiteness only: a value it took is never refused by a volunteer
    const { headers, attachments: sent } = packTensors([{ name: 'x', dtype: 'f32', shape: [2], data: Float32Array.from([3e38, -2e9]) }]);
    const task = { leaseId: 'L9', kind: 'backward', shard: 0, round: 3, microBatch: 1, version: 3, deadlineMs: 5000, tensors: headers };
    expect(parseMessage(serverMessages, 'task', task, sent, { finite: true, limits: SERVER_MESSAGE_LIMITS }).tensors[0].data[1]).toBe(-2e9);
    const inf = packTensors([{ name: 'x', dtype: 'f32', shape: [2], data: Float32Array.from([Infinity, 0]) }]);
    expect(refusal(() => parseMessage(serverMessages, 'task', { ...task, tensors: inf.headers }, inf.attachments, { finite: true, limits: SERVER_MESSAGE_LIMITS })).code).toBe('non-finite');
  });

  test('behavior: server messages are validated by the volunteer the same way', () => {
    const { headers, attachments } = packTensors([{ name: 'x', dtype: 'i32', shape: [2, 4], data: new Int32Array(8) }]);
    const task = { leaseId: 'L9', kind: 'forward', shard: 0, round: 3, microBatch: 1, version: 3, deadlineMs: 5000, tensors: headers };
    expect(parseMessage(serverMessages, 'task', task, attachments, { finite: true }).message.kind).toBe('forward');
    expect(refusal(() => parseMessage(serverMessages, 'task', { ...task, kind: 'mine' }, attachments, { finite: true })).code).toBe('bad-message');
  });
});
