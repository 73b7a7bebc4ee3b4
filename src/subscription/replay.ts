/**
 * Replay / freshness rules for signed packets (spec: subscription.md §4, complete list):
 * new pool or node → `unix ≥ now − tolerance`; refresh → `unix > the node's creation-time
 * unix`; unsubscribe → no check. Beyond uWSGI: a `unix` more than `tolerance` in the future
 * is rejected everywhere (a real node sends now or now+1, so it is never affected).
 */
export type ReplayVerdict = 'replay' | 'too-old' | 'too-new' | null;

function tooNew(unix: number, now: number, tolerance: number): boolean {
  return unix > now + tolerance;
}

export function checkNewNodeTime(unix: number, now: number, tolerance: number): ReplayVerdict {
  if (unix < now - tolerance) return 'too-old';
  return tooNew(unix, now, tolerance) ? 'too-new' : null;
}

export function checkRefreshTime(
  unix: number,
  unixCheck: number,
  now: number,
  tolerance: number,
): ReplayVerdict {
  if (unix <= unixCheck) return 'replay';
  return tooNew(unix, now, tolerance) ? 'too-new' : null;
}

export function checkUnsubscribeTime(unix: number, now: number, tolerance: number): ReplayVerdict {
  return tooNew(unix, now, tolerance) ? 'too-new' : null;
}
