/**
 * The rawrouter's routing key (spec: corerouter.md §3, §10): the listening address string
 * as configured (`127.0.0.1:9090`, `:9090`, a path), so one router can route each of its
 * ports to its own nodes (`--rawrouter-use-pattern`, subscriptions with that key).
 * For `=N` and `fd://N` the bound address (`getsockname` form) is the key, not uWSGI's
 * quirk of that name cut to the length of the option text (spec §6); likewise for a port-0
 * listener, whose configured text names no real port.
 */
import { parseListenAddress } from '../corerouter/address.ts';
import type { Listener } from '../corerouter/listener.ts';

export function rawrouterKey(listener: Listener): string {
  const r = parseListenAddress(listener.configured);
  if (!r.ok) return listener.name;
  const a = r.value;
  if (a.kind === 'shared' || a.kind === 'fd' || (a.kind === 'tcp' && a.port === 0)) return listener.name;
  return listener.configured;
}
