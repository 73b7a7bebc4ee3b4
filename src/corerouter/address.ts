/**
 * Address syntax for backends and listeners (spec: uwsgi-protocol.md §6, corerouter.md §6).
 *
 * uWSGI: a `:` means TCP with an IPv4 literal host (empty host = local), anything else is
 * a UNIX socket path (`@name` = Linux abstract namespace). uwrouter also takes
 * `[v6]:port`, host names, and `http://host:port` for HTTP nodes.
 */
import { isIP } from 'node:net';
import type { BackendAddress } from './types.ts';

export type AddressResult<T> = { ok: true; value: T } | { ok: false; error: string };

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : null;
}

/** Host names as RFC 1123 allows them (letters, digits, hyphens, dots). */
function isHostName(host: string): boolean {
  return (
    host.length <= 253 &&
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(host)
  );
}

interface HostPort {
  host: string;
  port: number;
}

/**
 * `ip:port`, `:port`, `[v6]:port`, `name:port`, or why the text is none of them (so an
 * operator reads "port 99999 is out of range", not just "invalid").
 */
export function readHostPort(text: string): { ok: true; value: HostPort } | { ok: false; error: string } {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, error: 'missing "]" after the IPv6 address' };
    if (text[close + 1] !== ':') return { ok: false, error: 'missing ":PORT" after "]"' };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return { ok: false, error: `"${host}" is not an IPv6 address` };
  } else {
    const colon = text.indexOf(':');
    if (colon < 0) return { ok: false, error: 'missing ":PORT"' };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host !== '' && isIP(host) !== 4 && !isHostName(host)) {
      return { ok: false, error: `"${host}" is not an IPv4 address or host name (IPv6 goes in [brackets])` };
    }
  }
  if (!/^\d+$/.test(portText)) return { ok: false, error: `port "${portText}" is not a number` };
  const port = parsePort(portText);
  if (port === null) return { ok: false, error: `port ${portText} is out of range (0-65535)` };
  return { ok: true, value: { host, port } };
}

/** `ip:port`, `:port`, `[v6]:port`, `name:port`. Returns null for anything else. */
export function splitHostPort(text: string): HostPort | null {
  const r = readHostPort(text);
  return r.ok ? r.value : null;
}

/**
 * A node address as written in `X-to`, a subscription or a mapper result.
 * `http://host:port` selects the HTTP protocol for the node (beyond uWSGI 2.0).
 */
/** sun_path is 108 bytes including the terminator on Linux */
const MAX_UNIX_PATH = 107;

export function parseBackendAddress(
  text: string,
  defaultProto: 'uwsgi' | 'http' = 'uwsgi',
): AddressResult<BackendAddress> {
  let proto = defaultProto;
  let rest = text;
  if (rest.startsWith('http://')) {
    proto = 'http';
    rest = rest.slice(7).replace(/\/$/, '');
  } else if (rest.startsWith('uwsgi://')) {
    rest = rest.slice(8);
  }
  if (rest.length === 0) return { ok: false, error: `empty node address "${text}"` };
  if (rest.includes(':') && !rest.startsWith('/') && !rest.startsWith('@') && !rest.startsWith('.')) {
    const r = readHostPort(rest);
    if (!r.ok) return { ok: false, error: `invalid node address "${text}": ${r.error}` };
    const hp = r.value;
    if (hp.port === 0)
      return { ok: false, error: `invalid node address "${text}": port 0 cannot be connected to` };
    // spec: an empty host means the local machine
    const host = hp.host === '' ? '127.0.0.1' : hp.host;
    return { ok: true, value: { kind: 'tcp', host, port: hp.port, name: text, proto } };
  }
  if (rest.includes('\0')) return { ok: false, error: `invalid node address "${text}" (NUL byte)` };
  if (rest === '@') return { ok: false, error: `invalid node address "${text}" (empty abstract name)` };
  if (Buffer.byteLength(rest, 'latin1') > MAX_UNIX_PATH) {
    return {
      ok: false,
      error: `invalid node address "${text}" (UNIX socket path over ${MAX_UNIX_PATH} bytes)`,
    };
  }
  // spec: a leading @ is the Linux abstract namespace, which Node spells with a NUL
  const path = rest.startsWith('@') ? `\0${rest.slice(1)}` : rest;
  return { ok: true, value: { kind: 'unix', path, name: text, proto } };
}

export type ListenAddress =
  | { kind: 'tcp'; host: string; port: number; text: string }
  | { kind: 'unix'; path: string; text: string }
  | { kind: 'shared'; index: number; text: string }
  | { kind: 'fd'; fd: number; text: string };

/** A listening address: `ip:port`, `:port`, `[v6]:port`, a path, `=N` or `fd://N`. */
export function parseListenAddress(text: string): AddressResult<ListenAddress> {
  if (/^=\d+$/.test(text)) return { ok: true, value: { kind: 'shared', index: Number(text.slice(1)), text } };
  if (/^fd:\/\/\d+$/.test(text)) return { ok: true, value: { kind: 'fd', fd: Number(text.slice(5)), text } };
  if (text.length === 0) return { ok: false, error: 'empty listening address' };
  if (text.includes(':') && !text.startsWith('/') && !text.startsWith('@') && !text.startsWith('.')) {
    const r = readHostPort(text);
    if (!r.ok) return { ok: false, error: `invalid listening address "${text}": ${r.error}` };
    const hp = r.value;
    return {
      ok: true,
      value: { kind: 'tcp', host: hp.host === '' ? '0.0.0.0' : hp.host, port: hp.port, text },
    };
  }
  const path = text.startsWith('@') ? `\0${text.slice(1)}` : text;
  return { ok: true, value: { kind: 'unix', path, text } };
}

/** The getsockname form uWSGI prints for a bound socket: `:PORT` for 0.0.0.0, `IP:PORT`, or the path. */
export function boundName(addr: { address: string; port: number } | string | null): string {
  if (addr === null) return '';
  if (typeof addr === 'string') return addr.startsWith('\0') ? `@${addr.slice(1)}` : addr;
  if (addr.address === '0.0.0.0') return `:${addr.port}`;
  return isIP(addr.address) === 6 ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
}
