import type { Coordinator } from '../coordinator.ts';
import { identityOf } from '../trust/verification.ts';
import type { ServingPolicy } from './router.ts';
import type { ServingHub } from './serving-hub.ts';

/** Serving policy from the coordinator's verification: who is checked, credited and convicted. */
export function servingPolicy(coordinatorOf: () => Coordinator, hub: ServingHub, tolerance: number): ServingPolicy {
  const identity = (id: string) => {
    const v = coordinatorOf().volunteers.get(id);
    return v ? identityOf(v) : null;
  };
  const bookOf = () => coordinatorOf().verification?.book ?? null;
  return {
    shouldCheck: (id) => {
      const who = identity(id);
      const book = bookOf();
      return book !== null && who !== null && book.shouldAudit(who);
    },
    tolerance,
    lie: (id, reason) => hub.run(() => coordinatorOf().convictServer(id, reason, Date.now())),
    passed: (id) =>
      hub.run(() => {
        const who = identity(id);
        const book = bookOf();
        if (book && who) book.passed(who, null);
        return [];
      }),
    credit: (id, shard, positions, ms, taskId) =>
      hub.run(() => {
        coordinatorOf().creditServing(id, shard, positions, ms, taskId);
        return [];
      }),
  };
}
