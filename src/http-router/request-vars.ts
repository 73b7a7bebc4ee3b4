/**
 * Request head → the uwsgi packet (header + vars) sent to a uwsgi node, in uWSGI's exact
 * var order (spec: http-router.md §2). One allocation for the packet; sizes are checked
 * before writing (uwsgi-protocol.md §5: ≤ 65535, optionally ≤ a node's buffer-size).
 *
 * Deliberate differences from uWSGI (listed in the report / README):
 * - REMOTE_PORT is the real client port (uWSGI byte-swaps it, corerouter.md §9).
 * - header fields spelled with `_` that would become CONTENT_LENGTH or
 *   HTTP_TRANSFER_ENCODING (`Content_Length`) are dropped: they would smuggle framing the
 *   router never checked past it (uWSGI merges them into the real ones).
 * - with `http-server-name-as-http-host` and no Host, SERVER_NAME = hostname is still sent.
 */
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import { UWSGI_HEADER_SIZE, UWSGI_MAX_DATASIZE, writeHeader } from '../protocol/uwsgi.ts';
import { decodePathInfo, pathLength } from './path-info.ts';

export type VarValue = string | Buffer;

export interface RequestVarsInput {
  /** SERVER_NAME: the machine hostname (spec §2 #8) */
  serverName: string;
  /** SERVER_PORT text, see `serverPortOf` */
  serverPort: string;
  /** emit HTTPS=on (TLS listener or stud prefix, spec §2 #11–12) */
  https?: boolean;
  /** emitted after HTTPS=on: HTTPS_CLIENT_CERTIFICATE (DER), HTTPS_DN, HTTPS_CC (spec §9) */
  tlsVars?: ReadonlyArray<readonly [string, VarValue]>;
  /** TCP peer; replaced by the PROXY v1 source when the head carries one (spec §1) */
  remoteAddr: string;
  remotePort: number;
  /** `http-server-name-as-http-host` */
  serverNameAsHttpHost?: boolean;
  /** `http-var` items, split at the first `=` (see `parseHttpVar`) */
  extraVars?: ReadonlyArray<readonly [string, string]>;
  /** header modifiers, see `resolveModifiers` */
  modifier1?: number;
  modifier2?: number;
  /** largest vars block allowed (e.g. a node's buffer-size 4096); capped at 65535 */
  maxVars?: number;
}

export type RequestPacketResult =
  | { ok: true; packet: Buffer }
  | { ok: false; code: 'UWR_ERR_HEADERS_TOO_LARGE'; status: 431; size: number; limit: number };

export interface ResolvedModifiers {
  modifier1: number;
  modifier2: number;
  /** modifier1 123 asked for a raw session (spec §2, §6) */
  raw: boolean;
}

/**
 * Header modifiers (spec §2): the mapped node's values, overridden by a non-zero
 * `http-modifier1`/`http-modifier2`; a resulting modifier1 of 123 is sent as 0 and
 * turns the session raw.
 */
export function resolveModifiers(
  nodeModifier1: number,
  nodeModifier2: number,
  httpModifier1 = 0,
  httpModifier2 = 0,
): ResolvedModifiers {
  const m1 = httpModifier1 !== 0 ? httpModifier1 : nodeModifier1;
  const m2 = httpModifier2 !== 0 ? httpModifier2 : nodeModifier2;
  return m1 === 123
    ? { modifier1: 0, modifier2: m2, raw: true }
    : { modifier1: m1, modifier2: m2, raw: false };
}

/** SERVER_PORT: the text after the last `:` of the listening address; UNIX socket → "". */
export function serverPortOf(listenAddress: string): string {
  const i = listenAddress.lastIndexOf(':');
  return i < 0 ? '' : listenAddress.slice(i + 1);
}

/** `http-var KEY=VALUE` → [KEY, VALUE] split at the first `=`; null without `=` or key. */
export function parseHttpVar(item: string): [string, string] | null {
  const i = item.indexOf('=');
  if (i <= 0) return null;
  return [item.slice(0, i), item.slice(i + 1)];
}

const nameCache = new Map<string, string>();
const NAME_CACHE_MAX = 512;

/** `User-Agent` → `HTTP_USER_AGENT`; Content-Length/-Type lose the prefix (spec §1–2). */
export function headerVarName(name: string): string {
  const cached = nameCache.get(name);
  if (cached !== undefined) return cached;
  let upper = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    upper += c === 45 ? '_' : c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : name[i];
  }
  const v = upper === 'CONTENT_LENGTH' || upper === 'CONTENT_TYPE' ? upper : `HTTP_${upper}`;
  if (nameCache.size < NAME_CACHE_MAX) nameCache.set(name, v);
  return v;
}

function isGuardedVar(varName: string): boolean {
  return varName === 'CONTENT_LENGTH' || varName === 'HTTP_TRANSFER_ENCODING';
}

// Scratch arrays reused across calls: the hot path allocates only the strings it must.
const keys: string[] = [];
const vals: VarValue[] = [];
let count = 0;

function add(k: string, v: VarValue): number {
  keys[count] = k;
  vals[count] = v;
  return count++;
}

function findKey(k: string, from: number, index: Map<string, number> | null): number {
  if (index) return index.get(k) ?? -1;
  for (let i = from; i < count; i++) if (keys[i] === k) return i;
  return -1;
}

/** Builds header + vars for `head`; never throws. */
export function buildRequestPacket(head: HttpRequestHead, input: RequestVarsInput): RequestPacketResult {
  count = 0;
  const uri = head.uri;
  const plen = pathLength(uri);
  const pathInfo = decodePathInfo(uri, plen);
  add('REQUEST_METHOD', head.method);
  const hasQuery = plen < uri.length;
  // spec §2: PATH_INFO comes before REQUEST_URI only when the URI has a `?`
  if (hasQuery) add('PATH_INFO', pathInfo);
  add('REQUEST_URI', uri);
  if (!hasQuery) add('PATH_INFO', pathInfo);
  add('QUERY_STRING', hasQuery ? uri.slice(plen + 1) : '');
  add('SERVER_PROTOCOL', head.protocol);
  add('SCRIPT_NAME', '');
  const nameAsHost = input.serverNameAsHttpHost === true && head.host !== null;
  if (!nameAsHost) add('SERVER_NAME', input.serverName);
  add('SERVER_PORT', input.serverPort);
  add('UWSGI_ROUTER', 'http');
  if (input.https) add('HTTPS', 'on');
  if (input.tlsVars) for (const [k, v] of input.tlsVars) add(k, v);
  const proxy = head.proxy !== null && head.proxy.protocol !== 'UNKNOWN' ? head.proxy : null;
  add('REMOTE_ADDR', proxy ? proxy.srcAddress : input.remoteAddr);
  add('REMOTE_PORT', String(proxy ? proxy.srcPort : input.remotePort));

  // Headers: first-appearance order, duplicates merged into the first with ", " (spec §1).
  const firstHeader = count;
  const hs = head.headers;
  const index = hs.length > 16 ? new Map<string, number>() : null;
  for (let h = 0; h < hs.length; h++) {
    const { name, value } = hs[h];
    const k = headerVarName(name);
    if (isGuardedVar(k) && name.includes('_')) continue;
    const at = findKey(k, firstHeader, index);
    if (at >= 0) {
      vals[at] = `${vals[at] as string}, ${value}`;
      continue;
    }
    if (nameAsHost && k === 'HTTP_HOST') add('SERVER_NAME', value);
    const i = add(k, value);
    index?.set(k, i);
  }
  if (input.extraVars) for (const [k, v] of input.extraVars) add(k, v);

  let size = 0;
  for (let i = 0; i < count; i++) {
    const v = vals[i];
    size += 4 + keys[i].length + (typeof v === 'string' ? v.length : v.length);
  }
  const limit = Math.min(UWSGI_MAX_DATASIZE, input.maxVars ?? UWSGI_MAX_DATASIZE);
  if (size > limit) {
    clear();
    return { ok: false, code: 'UWR_ERR_HEADERS_TOO_LARGE', status: 431, size, limit };
  }
  const out = Buffer.allocUnsafe(UWSGI_HEADER_SIZE + size);
  writeHeader(out, 0, input.modifier1 ?? 0, size, input.modifier2 ?? 0);
  let p = UWSGI_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    p = put(out, p, keys[i]);
    p = put(out, p, vals[i]);
  }
  clear();
  return { ok: true, packet: out };
}

function put(out: Buffer, p: number, v: VarValue): number {
  const len = v.length;
  out[p] = len & 0xff;
  out[p + 1] = len >>> 8;
  if (typeof v === 'string') out.write(v, p + 2, len, 'latin1');
  else v.copy(out, p + 2);
  return p + 2 + len;
}

/** drop references to request strings/buffers held by the scratch arrays */
function clear(): void {
  for (let i = 0; i < count; i++) vals[i] = '';
  count = 0;
}
