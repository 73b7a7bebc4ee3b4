/**
 * Validation of announced node addresses (spec: uwsgi-protocol.md §6, subscription.md §1).
 * uWSGI stores any `address` and fails at connect time; we reject what can never be a
 * socket address when the packet arrives, with a log line, so the table holds only
 * connectable nodes.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { BackendAddress } from '../corerouter/types.ts';

/** sun_path is 108 bytes including the terminator on Linux */
const MAX_UNIX_PATH = 107;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function parsePort(s: string): number {
  if (s.length === 0 || s.length > 5) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n >= 1 && n <= 65535 ? n : -1;
}

/**
 * Parses an announced address into a connectable `BackendAddress`, or null:
 * `ip:port`, `:port` (local, connected as 127.0.0.1), `[v6]:port`, `hostname:port`,
 * absolute or relative unix path, `@abstract`; an `http://` prefix (or `proto`) selects
 * the HTTP backend protocol (2.1 `proto`).
 */
export function parseNodeAddress(
  announced: string,
  proto: 'uwsgi' | 'http' = 'uwsgi',
): BackendAddress | null {
  let s = announced;
  if (s.startsWith('http://')) {
    s = s.slice(7);
    proto = 'http';
    if (s.endsWith('/')) s = s.slice(0, -1);
  }
  if (s.length === 0 || s.includes('\0')) return null;
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    const close = s.indexOf(']');
    if (close < 0 || s.charCodeAt(close + 1) !== 0x3a) return null;
    const host = s.slice(1, close);
    const port = parsePort(s.slice(close + 2));
    if (!isIPv6(host) || port < 0) return null;
    return { kind: 'tcp', host, port, name: announced, proto };
  }
  const colon = s.indexOf(':');
  if (colon < 0) {
    // uWSGI: no colon → unix stream socket; `@name` is the Linux abstract namespace
    if (Buffer.byteLength(s, 'latin1') > MAX_UNIX_PATH) return null;
    if (s === '@') return null;
    return { kind: 'unix', path: s.charCodeAt(0) === 0x40 ? `\0${s.slice(1)}` : s, name: announced, proto };
  }
  // split at the first ':' as uWSGI does; a second ':' is an unbracketed IPv6 → invalid
  const port = parsePort(s.slice(colon + 1));
  if (port < 0) return null;
  let host = s.slice(0, colon);
  if (host.length === 0) host = '127.0.0.1';
  else if (!isIPv4(host) && !HOSTNAME.test(host)) return null;
  return { kind: 'tcp', host, port, name: announced, proto };
}
