import type { GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION, type WireTensor } from '@openshard/protocol';
import { describe, expect, test } from 'vitest';
import type { VolunteerAction, VolunteerInput } from '../src/machine-io.ts';
import { VolunteerMachine } from '../src/machine.ts';

/** The volunteer's side of compact traffic: weights from updates, gradients kept and summed on request. */
const TRAFFIC_MODE = 'compact' as const;
const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 2, heads: 2, width: 8 };
const SPEC = { index: 1, count: 2, firstLayer: 1, endLayer: 2 };
const f32 = (name: string, values: number[]): WireTensor => ({ name, dtype: 'f32', shape: [values.length], data: Float32Array.from(values) });

function machine(): { m: VolunteerMachine; feed: (i: VolunteerInput) => VolunteerAction[] } {
  const m = new VolunteerMachine({ url: 'http://coordinator', name: 'v', backend: 'cpu', canRecreateBackend: false });
  const feed = (i: VolunteerInput) => m.handle(i, 0);
  feed({ type: 'connected' });
  feed({ type: 'welcome', message: { protocol: PROTOCOL_VERSION, volunteerId: 'v1', run: { id: 'run', config: CONFIG, shards: 2, batch: 1, traffic: TRAFFIC_MODE } } });
  return { m, feed };
}

const weights = (version: number, tensors: WireTensor[], base?: number): VolunteerInput => ({
  type: 'weights',
  message: { shard: SPEC, version, ...(base === undefined ? {} : { base }), tensors: [] },
  tensors,
});
const loadOf = (actions: VolunteerAction[]) => actions.find((a) => a.type === 'load') as Extract<VolunteerAction, { type: 'load' }> | undefined;

function backward(feed: (i: VolunteerInput) => VolunteerAction[], leaseId: string, microBatch: number, grad: number[]): VolunteerAction[] {
  feed({ type: 'task', message: { leaseId, kind: 'backward', shard: 1, round: 4, microBatch, version: 0, deadlineMs: 10_000, keepGradients: true, tensors: [] }, tensors: [] });
  return feed({ type: 'computed', leaseId, computeMs: 3, output: { tensors: [f32('dx', [microBatch]), f32('h.1.mlp.c_proj.bias', grad)] } });
}

describe('compact traffic on the volunteer', () => {
  test('behavior: an update is added to the weights held, in fp32, and loaded whole', () => {
    const { feed } = machine();
    expect(loadOf(feed(weights(0, [f32('w', [1, 0.1, -2])])))!.weights[0].data).toEqual(Float32Array.from([1, 0.1, -2]));
    feed({ type: 'loaded' });
    const whole = loadOf(feed(weights(1, [f32('w', [0.5, 0.2, 0.25])], 0)))!.weights;
    expect(whole.map((t) => t.name)).toEqual(['w']);
    expect(whole[0].data).toEqual(Float32Array.from([1.5, Math.fround(0.1) + Math.fround(0.2), -1.75]));
  });

  test('error: an update from a version it does not hold is not applied; it connects again for the whole weights', () => {
    const { feed } = machine();
    feed(weights(0, [f32('w', [1, 2])]));
    feed({ type: 'loaded' });
    const actions = feed(weights(6, [f32('w', [1, 1])], 5));
    expect(loadOf(actions)).toBeUndefined();
    expect(actions.map((a) => a.type)).toEqual(['report', 'disconnect', 'connect']);
    expect(JSON.stringify(actions[0])).toContain('an update from version 5, but the weights held are at 0');
  });

  test('behavior: a backward result leaves its parameter gradients behind; collect gets their sum in micro-batch order, in q8', () => {
    const { feed } = machine();
    feed(weights(0, [f32('w', [1])]));
    feed({ type: 'loaded' });
    const first = backward(feed, 'L1', 2, [1, 2]).find((a) => a.type === 'send' && a.wire === 'result');
    expect(first && first.type === 'send' && 'tensors' in first && first.tensors.map((t) => t.name)).toEqual(['dx']);
    backward(feed, 'L2', 0, [10, 20]);
    backward(feed, 'L3', 1, [100, 200]);
    const [sent] = feed({ type: 'collect', message: { round: 4, shard: 1, microBatches: [2, 0] } });
    expect(sent.type === 'send' && sent.wire).toBe('gradients');
    if (sent.type !== 'send' || sent.wire !== 'gradients') return;
    expect(sent.message).toEqual({ round: 4, shard: 1, microBatches: [2, 0] });
    expect(sent.tensors.map((t) => [t.name, t.codec, Array.from(t.data)])).toEqual([['h.1.mlp.c_proj.bias', 'q8', [11, 22]]]);
  });

  test('error: a collect for gradients it does not keep sends nothing and says which', () => {
    const { feed } = machine();
    feed(weights(0, [f32('w', [1])]));
    feed({ type: 'loaded' });
    backward(feed, 'L1', 0, [1]);
    const actions = feed({ type: 'collect', message: { round: 4, shard: 1, microBatches: [0, 3] } });
    expect(actions.map((a) => a.type)).toEqual(['report']);
    expect(JSON.stringify(actions[0])).toContain('micro-batches 3 of round 4 are not kept');
    // new weights forget them
    feed(weights(1, [f32('w', [1])]));
    expect(JSON.stringify(feed({ type: 'collect', message: { round: 4, shard: 1, microBatches: [0] } }))).toContain('are not kept');
  });
});
