import { describeLayers } from '@openshard/model';
import type { VolunteerEvent } from './events.ts';

const MEGA = 1e6;

/** A volunteer event in plain words, for the CLI's log and the Contribute page. */
export function describeEvent(e: VolunteerEvent): string {
  switch (e.type) {
    case 'connected':
      return `connected to ${e.detail}`;
    case 'disconnected':
      return `disconnected (${e.detail}); reconnecting`;
    case 'joined':
      return `joined run ${e.run} as ${e.volunteerId}`;
    case 'assigned':
      return `holding shard ${e.shard} (${describeLayers(e.layers[0], e.layers[1])}, ${e.parameters.toLocaleString('en-US')} parameters)`;
    case 'task':
      return `${e.kind} of shard ${e.shard}, round ${e.round}, micro-batch ${e.microBatch}: ${e.computeMs.toFixed(0)} ms`;
    case 'accepted':
      return `accepted: ${(e.flops / MEGA).toFixed(1)} MFLOP of work credited (round ${e.round})`;
    case 'cancelled':
      return `task ${e.leaseId} cancelled: ${e.reason}`;
    case 'gave-back':
      return `gave task ${e.leaseId} back (${e.reason}) so another volunteer runs it`;
    case 'paused':
      return `paused (${e.reason}): taking no tasks`;
    case 'resumed':
      return `resumed (${e.reason})`;
    case 'device-lost':
      return `the GPU device was lost; starting a new one (${e.message})`;
    case 'refused':
      return `the coordinator refused a message (${e.code}): ${e.message}`;
    case 'finished':
      return `the run is complete after ${e.rounds} round${e.rounds === 1 ? '' : 's'}: nothing more to train`;
    case 'error':
      return `error: ${e.message}`;
  }
}
