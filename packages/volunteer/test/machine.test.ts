import type { GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION, type WireTensor } from '@openshard/protocol';
import { describe, expect, test } from 'vitest';
import type { VolunteerEvent, VolunteerStats } from '../src/events.ts';
import type { MachineOptions, VolunteerAction, VolunteerInput } from '../src/machine-io.ts';
import { VolunteerMachine } from '../src/machine.ts';

const TRAFFIC_MODE = 'exact' as const;
const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 2, heads: 2, width: 8 };
const SPEC = { index: 1, count: 2, firstLayer: 1, endLayer: 2 };
const OPTIONS: MachineOptions = { url: 'http://coordinator', name: 'v', backend: 'webgpu', canRecreateBackend: true };
const TENSOR: WireTensor = { name: 'y', dtype: 'f32', shape: [2], data: new Float32Array(2) };

// ---- inputs, as the shell would feed them ----
const connected: VolunteerInput = { type: 'connected' };
const disconnected = (reason: string): VolunteerInput => ({ type: 'disconnected', reason });
const welcome: VolunteerInput = { type: 'welcome', message: { protocol: PROTOCOL_VERSION, volunteerId: 'v1', run: { id: 'run', config: CONFIG, shards: 2, batch: 1, traffic: TRAFFIC_MODE } } };
const weights = (version: number): VolunteerInput => ({ type: 'weights', message: { shard: SPEC, version, tensors: [] }, tensors: [TENSOR, TENSOR] });
const loaded: VolunteerInput = { type: 'loaded' };
const task = (leaseId: string, o: { shard?: number; version?: number } = {}): VolunteerInput => ({
  type: 'task',
  message: { leaseId, kind: 'forward', shard: o.shard ?? 1, round: 3, microBatch: 0, version: o.version ?? 0, deadlineMs: 10_000, tensors: [] },
  tensors: [],
});
const computed = (leaseId: string, computeMs: number): VolunteerInput => ({ type: 'computed', leaseId, computeMs, output: { tensors: [TENSOR] } });
const failed = (leaseId: string, deviceLost: boolean): VolunteerInput => ({ type: 'task-failed', leaseId, error: 'boom', deviceLost });
const cancel = (leaseId: string): VolunteerInput => ({ type: 'cancel', message: { leaseId, reason: 'another copy won' } });
const accepted = (leaseId: string, flops: number): VolunteerInput => ({ type: 'accepted', message: { leaseId, round: 3, flops } });
const pause = (reason: string): VolunteerInput => ({ type: 'pause', reason });
const resume = (reason: string): VolunteerInput => ({ type: 'resume', reason });
const stretchEnded = (leaseId: string): VolunteerInput => ({ type: 'stretch-ended', leaseId });
const restEnded: VolunteerInput = { type: 'rest-ended' };
const finished = (round: number): VolunteerInput => ({ type: 'finished', message: { round, message: `the run is complete after ${round} rounds; nothing more to train` } });
const refused = (code: string): VolunteerInput => ({ type: 'refused', message: { code, message: `${code} refused` } });
const session = (token: string): VolunteerInput => ({ type: 'session', session: token });
const JOINED = 'report joined (run as v1)';

// ---- actions, in words ----
function sayEvent(e: VolunteerEvent): string {
  const parts: string[] = [e.type];
  if ('leaseId' in e) parts.push(e.leaseId);
  if (e.type === 'assigned') parts.push(`shard ${e.shard} version ${e.version}`);
  if (e.type === 'task') parts.push(`${e.kind} ${e.computeMs} ms`);
  if (e.type === 'joined') parts.push(`(${e.run} as ${e.volunteerId})`);
  if (e.type === 'finished') parts.push(`after ${e.rounds} rounds`);
  for (const why of ['reason', 'message', 'detail'] as const) if (why in e) parts.push(`(${(e as Record<string, string>)[why]})`);
  return parts.join(' ');
}

function say(a: VolunteerAction): string {
  switch (a.type) {
    case 'send':
      switch (a.wire) {
        case 'hello':
          return `send hello ${a.message.backend}${a.message.session ? ` with ${a.message.session}` : ''}`;
        case 'ready':
          return `send ready shard ${a.message.shard} version ${a.message.version}`;
        case 'result':
          return `send result ${a.message.leaseId}`;
        case 'giveBack':
          return `send giveBack ${a.message.leaseId} (${a.message.reason})`;
        case 'availability':
          return `send availability ${a.message.accepting} (${a.message.reason})`;
      }
      break;
    case 'report':
      return `report ${sayEvent(a.event)}`;
    case 'load':
      return `load shard ${a.spec.index}`;
    case 'execute':
      return `execute ${a.leaseId}`;
    case 'start-stretch':
      return `stretch ${a.leaseId} ${a.ms} ms`;
    case 'cut-stretch':
      return `cut stretch ${a.leaseId}`;
    case 'start-rest':
      return `rest ${a.ms} ms`;
  }
  return a.type;
}

type Step = [VolunteerInput, string[]];
interface Scenario {
  name: string;
  options?: Partial<MachineOptions>;
  steps: Step[];
  /** Checked after the last step. */
  stats?: Partial<VolunteerStats>;
}

/** Connected, holding shard 1 at version 0, accepting. */
const HOLDING: Step[] = [
  [connected, ['report connected (http://coordinator)', 'send hello webgpu']],
  [welcome, [JOINED]],
  [weights(0), ['load shard 1']],
  [loaded, ['report assigned shard 1 version 0', 'send ready shard 1 version 0']],
];

const RESULT_L1 = ['send result L1', 'report task forward 40 ms'];

const scenarios: Scenario[] = [
  {
    name: 'behavior: it says hello, loads its shard, says ready, runs a task and sends its result',
    steps: [...HOLDING, [task('L1'), ['execute L1']], [computed('L1', 40), RESULT_L1]],
    stats: { connection: 'connected', shard: 1, layers: [1, 2], parameters: 4, version: 0, tasksDone: 1, busyMs: 40, task: null },
  },
  {
    name: "behavior: a pause mid-task gives the task back at once with the pause's reason; its late result is never sent",
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [pause('owner paused'), ['send availability false (owner paused)', 'send giveBack L1 (owner paused)', 'report gave-back L1 (owner paused)', 'report paused (owner paused)']],
      [computed('L1', 40), []],
    ],
    stats: { tasksDone: 0, busyMs: 40, paused: true, task: null },
  },
  {
    name: 'behavior: a pause during a --slowdown stretch cuts it, gives the task back, and sends no result',
    options: { slowdown: 3 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['stretch L1 80 ms']],
      [pause('owner paused'), ['send availability false (owner paused)', 'cut stretch L1', 'send giveBack L1 (owner paused)', 'report gave-back L1 (owner paused)', 'report paused (owner paused)']],
      [stretchEnded('L1'), []],
    ],
    stats: { tasksDone: 0, task: null },
  },
  {
    name: 'behavior: weights that finish loading after the connection dropped are not announced on the new one',
    steps: [
      [connected, ['report connected (http://coordinator)', 'send hello webgpu']],
      [welcome, [JOINED]],
      [weights(0), ['load shard 1']],
      [disconnected('transport close'), ['report disconnected (transport close)']],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu']],
      [loaded, []],
      [task('L1'), ['send giveBack L1 (holding shard none version -1)']],
      [welcome, [JOINED]],
      [weights(1), ['load shard 1']],
      [loaded, ['report assigned shard 1 version 1', 'send ready shard 1 version 1']],
    ],
  },
  {
    name: "behavior: a task arriving while paused is given back at once with the pause's own reason",
    steps: [
      ...HOLDING,
      [pause('tab hidden'), ['send availability false (tab hidden)', 'report paused (tab hidden)']],
      [task('L1'), ['send giveBack L1 (tab hidden)', 'report gave-back L1 (tab hidden)']],
    ],
  },
  {
    name: "behavior: a task queued behind a running one when a pause comes is given back at once, with the pause's reason",
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [task('L2'), []],
      [
        pause('owner paused'),
        [
          'send availability false (owner paused)',
          'send giveBack L1 (owner paused)',
          'report gave-back L1 (owner paused)',
          'send giveBack L2 (owner paused)',
          'report gave-back L2 (owner paused)',
          'report paused (owner paused)',
        ],
      ],
      [computed('L1', 40), []],
    ],
  },
  {
    name: 'behavior: at a 50% duty cycle it rests as long as the task took; a task queued meanwhile waits out the rest and runs after it',
    options: { dutyCycle: 0.5 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['send availability false (resting)', 'rest 40 ms', ...RESULT_L1]],
      [task('L2'), []],
      [restEnded, ['send availability true (rested)', 'execute L2']],
    ],
  },
  {
    name: 'behavior: a pause during a rest gives back the task queued behind it',
    options: { dutyCycle: 0.5 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['send availability false (resting)', 'rest 40 ms', ...RESULT_L1]],
      [task('L2'), []],
      [pause('owner paused'), ['send availability false (owner paused)', 'send giveBack L2 (owner paused)', 'report gave-back L2 (owner paused)', 'report paused (owner paused)']],
      [restEnded, []],
    ],
  },
  {
    name: 'behavior: a rest ending while paused announces nothing; the resume does',
    options: { dutyCycle: 0.25 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['send availability false (resting)', 'rest 120 ms', ...RESULT_L1]],
      [pause('owner paused'), ['send availability false (owner paused)', 'report paused (owner paused)']],
      [restEnded, []],
      [resume('owner resumed'), ['send availability true (owner resumed)', 'report resumed (owner resumed)']],
    ],
  },
  {
    name: 'behavior: a resume while resting announces nothing until the rest ends',
    options: { dutyCycle: 0.5 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['send availability false (resting)', 'rest 40 ms', ...RESULT_L1]],
      [pause('owner paused'), ['send availability false (owner paused)', 'report paused (owner paused)']],
      [resume('owner resumed'), ['report resumed (owner resumed)']],
      [restEnded, ['send availability true (rested)']],
    ],
  },
  {
    name: 'behavior: a cancel during a --slowdown stretch cuts it short and no result is sent',
    options: { slowdown: 3 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['stretch L1 80 ms']],
      [cancel('L1'), ['cut stretch L1', 'report cancelled L1 (another copy won)']],
      [stretchEnded('L1'), []],
      [task('L2'), ['execute L2']],
    ],
    stats: { tasksDone: 0, busyMs: 40 },
  },
  {
    name: 'behavior: a cancel reaches the running task at once; its result is not sent, and the executor is free only when its compute ends',
    steps: [...HOLDING, [task('L1'), ['execute L1']], [cancel('L1'), ['report cancelled L1 (another copy won)']], [task('L2'), []], [computed('L1', 40), ['execute L2']]],
    stats: { tasksDone: 0 },
  },
  {
    name: 'behavior: a cancel of a task not yet started overtakes it: it is never executed',
    steps: [...HOLDING, [task('L1'), ['execute L1']], [task('L2'), []], [cancel('L2'), ['report cancelled L2 (another copy won)']], [computed('L1', 40), RESULT_L1], [task('L3'), ['execute L3']]],
  },
  {
    name: 'behavior: a task for another shard or version, or before any weights, is given back saying what it holds',
    steps: [
      [connected, ['report connected (http://coordinator)', 'send hello webgpu']],
      [task('L0'), ['send giveBack L0 (holding shard none version -1)']],
      ...HOLDING.slice(1),
      [task('L1', { shard: 0 }), ['send giveBack L1 (holding shard 1 version 0)']],
      [task('L2', { version: 1 }), ['send giveBack L2 (holding shard 1 version 0)']],
    ],
  },
  {
    name: 'behavior: new weights wait for the running task, and the tasks after them run on them',
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [weights(1), []],
      [task('L2', { version: 1 }), []],
      [computed('L1', 40), [...RESULT_L1, 'load shard 1']],
      [loaded, ['send ready shard 1 version 1', 'execute L2']],
    ],
    stats: { version: 1 },
  },
  {
    name: 'behavior: on device loss it drops its shard, disconnects, recreates the backend and connects again for new weights',
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [task('L2'), []],
      [failed('L1', true), ['report device-lost (boom)', 'disconnect', 'recreate-backend']],
      [disconnected('io client disconnect'), ['report disconnected (io client disconnect)']],
      [{ type: 'backend-recreated', backend: 'webgpu' }, ['connect']],
      ...HOLDING,
    ],
    stats: { connection: 'connected', shard: 1 },
  },
  {
    name: 'behavior: on device loss without a way to recreate the backend it stops',
    options: { canRecreateBackend: false },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [failed('L1', true), ['report device-lost (boom)', 'disconnect']],
      [disconnected('io client disconnect'), ['report disconnected (io client disconnect)']],
    ],
    stats: { connection: 'stopped', shard: null, task: null },
  },
  {
    name: 'error: a task that fails without device loss is reported, and the next task runs',
    steps: [...HOLDING, [task('L1'), ['execute L1']], [failed('L1', false), ['report error (task: boom)']], [task('L2'), ['execute L2']]],
    stats: { connection: 'connected', tasksDone: 0 },
  },
  {
    name: 'behavior: on reconnecting while paused it says hello, then that it takes no tasks and why',
    steps: [
      ...HOLDING,
      [pause('owner paused'), ['send availability false (owner paused)', 'report paused (owner paused)']],
      [disconnected('transport close'), ['report disconnected (transport close)']],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu', 'send availability false (owner paused)']],
    ],
    stats: { connection: 'connected', paused: true },
  },
  {
    name: "behavior: a dropped connection takes its leases along: the running task's result is not sent, nothing is sent until it reconnects",
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [task('L2'), []],
      [disconnected('transport close'), ['report disconnected (transport close)']],
      [pause('owner paused'), ['report paused (owner paused)']],
      [computed('L1', 40), []],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu', 'send availability false (owner paused)']],
    ],
    stats: { connection: 'connected', tasksDone: 0 },
  },
  {
    name: 'behavior: accepted results are counted with their work units',
    steps: [...HOLDING, [accepted('L1', 1000), ['report accepted L1']], [accepted('L2', 500), ['report accepted L2']]],
    stats: { tasksAccepted: 2, flopsAccepted: 1500 },
  },
  {
    name: 'behavior: stop cuts a stretch and a rest short and disconnects; nothing starts after it',
    options: { slowdown: 2 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['stretch L1 40 ms']],
      [{ type: 'stop' }, ['cut stretch L1', 'disconnect']],
      [disconnected('io client disconnect'), ['report disconnected (io client disconnect)']],
      [task('L2'), []],
      [{ type: 'backend-recreated', backend: 'webgpu' }, []],
    ],
    stats: { connection: 'stopped', tasksDone: 0, task: null },
  },
  {
    name: 'behavior: once the run is finished it says so, tells the coordinator it takes no task, and gives back any task still sent',
    steps: [
      ...HOLDING,
      [finished(2), ['send availability false (the run is complete)', 'report finished after 2 rounds']],
      [task('L1'), ['send giveBack L1 (the run is complete)', 'report gave-back L1 (the run is complete)']],
    ],
    stats: { connection: 'connected', shard: 1, finished: { rounds: 2 }, tasksDone: 0 },
  },
  {
    name: 'behavior: the end of the run waits for the running task (its result goes out), and tasks queued behind it are given back',
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [finished(2), []],
      [task('L2'), []],
      [
        computed('L1', 40),
        [...RESULT_L1, 'send availability false (the run is complete)', 'report finished after 2 rounds', 'send giveBack L2 (the run is complete)', 'report gave-back L2 (the run is complete)'],
      ],
    ],
    stats: { tasksDone: 1, finished: { rounds: 2 } },
  },
  {
    name: 'behavior: a finished run is not undone by a resume or the end of a rest: nothing says it takes tasks again',
    options: { dutyCycle: 0.5 },
    steps: [
      ...HOLDING,
      [task('L1'), ['execute L1']],
      [computed('L1', 40), ['send availability false (resting)', 'rest 40 ms', ...RESULT_L1]],
      [pause('owner paused'), ['send availability false (owner paused)', 'report paused (owner paused)']],
      [finished(2), ['report finished after 2 rounds']],
      [restEnded, []],
      [resume('owner resumed'), ['report resumed (owner resumed)']],
      [task('L2'), ['send giveBack L2 (the run is complete)', 'report gave-back L2 (the run is complete)']],
    ],
    stats: { paused: false, finished: { rounds: 2 } },
  },
  {
    name: 'behavior: after the run is finished, every hello is followed by "no tasks"; the repeated finished message is not reported again',
    steps: [
      ...HOLDING,
      [finished(2), ['send availability false (the run is complete)', 'report finished after 2 rounds']],
      [disconnected('transport close'), ['report disconnected (transport close)']],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu', 'send availability false (the run is complete)']],
      [welcome, [JOINED]],
      [weights(0), ['load shard 1']],
      [finished(2), []],
      [loaded, ['send ready shard 1 version 0']],
    ],
    stats: { connection: 'connected', finished: { rounds: 2 } },
  },
  {
    name: 'behavior: a new session is carried by the next hello; it does not reconnect a connection that is fine',
    options: { session: 'old' },
    steps: [
      [connected, ['report connected (http://coordinator)', 'send hello webgpu with old']],
      [welcome, [JOINED]],
      [session('new'), []],
      [disconnected('transport close'), ['report disconnected (transport close)']],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu with new']],
    ],
  },
  {
    name: 'behavior: after a refused session (the coordinator drops the connection for good) a new session connects again with it',
    options: { session: 'expired' },
    steps: [
      [connected, ['report connected (http://coordinator)', 'send hello webgpu with expired']],
      [refused('session'), ['report refused (session refused)']],
      [disconnected('io server disconnect'), ['report disconnected (io server disconnect)']],
      [session('fresh'), ['connect']],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu with fresh']],
      [welcome, [JOINED]],
      [session('fresher'), []],
    ],
    stats: { connection: 'connected' },
  },
  {
    name: 'behavior: a new session arriving before the refused connection is dropped drops it and connects again; another refusal connects nothing',
    options: { session: 'expired' },
    steps: [
      [connected, ['report connected (http://coordinator)', 'send hello webgpu with expired']],
      [refused('session'), ['report refused (session refused)']],
      [session('fresh'), ['disconnect', 'connect']],
      [disconnected('io client disconnect'), ['report disconnected (io client disconnect)']],
      [connected, ['report connected (http://coordinator)', 'send hello webgpu with fresh']],
      [refused('banned'), ['report refused (banned refused)']],
      [disconnected('io server disconnect'), ['report disconnected (io server disconnect)']],
      [session('fresher'), []],
    ],
  },
  {
    name: 'error: weights before welcome are reported and not loaded',
    steps: [
      [connected, ['report connected (http://coordinator)', 'send hello webgpu']],
      [weights(0), ['report error (weights: weights before welcome)']],
    ],
    stats: { shard: null },
  },
  {
    name: 'error: a message that failed to parse is reported',
    steps: [[{ type: 'malformed', wire: 'task', error: 'tensor x has a NaN' }, ['report error (task: tensor x has a NaN)']]],
  },
];

describe('VolunteerMachine (no sockets, no timers, no backend)', () => {
  test.each(scenarios)('$name', ({ options, steps, stats }) => {
    const m = new VolunteerMachine({ ...OPTIONS, ...options });
    let now = 1_000;
    for (const [i, [input, expected]] of steps.entries()) {
      now += 10;
      expect(m.handle(input, now).map(say), `step ${i}: ${input.type}`).toEqual(expected);
    }
    if (stats) expect(m.stats).toMatchObject(stats);
  });

  test('behavior: the task held is in the stats from the start of its execution, at the time given', () => {
    const m = new VolunteerMachine(OPTIONS);
    for (const [input] of HOLDING) m.handle(input, 0);
    m.handle(task('L1'), 1234);
    expect(m.stats.task).toEqual({ leaseId: 'L1', kind: 'forward', round: 3, microBatch: 0, startedAt: 1234 });
  });

  test('error: a duty cycle outside (0, 1] is refused with the value', () => {
    expect(() => new VolunteerMachine({ ...OPTIONS, dutyCycle: 0 })).toThrow('duty cycle is 0; it must be in (0, 1]');
    const m = new VolunteerMachine(OPTIONS);
    expect(() => m.handle({ type: 'set-duty-cycle', dutyCycle: 1.5 }, 0)).toThrow(RangeError);
    expect(m.stats.dutyCycle).toBe(1);
  });
});
