/**
 * A uwsgi request head (4-byte header + vars block) with REMOTE_ADDR and REMOTE_PORT set to
 * another client: how the fastrouter passes on the client a trusted peer's PROXY header
 * named (uwrouter extension). Every REMOTE_ADDR/REMOTE_PORT entry is replaced in place (a
 * duplicate left behind would let the sender choose which one the application reads);
 * missing ones are appended. The header's datasize follows; modifier1/modifier2 are kept.
 * Pure: Buffer in, result out, never throws.
 */
import { UWSGI_HEADER_SIZE, UWSGI_MAX_DATASIZE, walkVars } from './uwsgi.ts';

export type RemoteVarsResult = { ok: true; head: Buffer } | { ok: false; reason: 'malformed' | 'too-large' };

const REMOTE_ADDR = Buffer.from('REMOTE_ADDR', 'latin1');
const REMOTE_PORT = Buffer.from('REMOTE_PORT', 'latin1');

function is(buf: Buffer, start: number, end: number, name: Buffer): boolean {
  return end - start === name.length && buf.compare(name, 0, name.length, start, end) === 0;
}

function entry(key: Buffer, value: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4 + key.length + value.length);
  b.writeUInt16LE(key.length, 0);
  key.copy(b, 2);
  b.writeUInt16LE(value.length, 2 + key.length);
  value.copy(b, 4 + key.length);
  return b;
}

function lengthPrefixed(value: Buffer): Buffer {
  const b = Buffer.allocUnsafe(2 + value.length);
  b.writeUInt16LE(value.length, 0);
  value.copy(b, 2);
  return b;
}

export function withRemoteClient(head: Buffer, address: string, port: number): RemoteVarsResult {
  if (head.length < UWSGI_HEADER_SIZE) return { ok: false, reason: 'malformed' };
  const addr = Buffer.from(address, 'latin1');
  const prt = Buffer.from(String(port), 'latin1');
  const parts: Buffer[] = [];
  let copied = 0;
  let sawAddr = false;
  let sawPort = false;
  const walked = walkVars(head, UWSGI_HEADER_SIZE, head.length, (b, ks, ke, _vs, ve) => {
    const isAddr = is(b, ks, ke, REMOTE_ADDR);
    if (!isAddr && !is(b, ks, ke, REMOTE_PORT)) return true;
    if (isAddr) sawAddr = true;
    else sawPort = true;
    // the value and its 2-byte length, from just after the key
    parts.push(head.subarray(copied, ke), lengthPrefixed(isAddr ? addr : prt));
    copied = ve;
    return true;
  });
  if (walked !== true) return { ok: false, reason: 'malformed' };
  parts.push(head.subarray(copied));
  if (!sawAddr) parts.push(entry(REMOTE_ADDR, addr));
  if (!sawPort) parts.push(entry(REMOTE_PORT, prt));
  const out = Buffer.concat(parts);
  const datasize = out.length - UWSGI_HEADER_SIZE;
  if (datasize > UWSGI_MAX_DATASIZE) return { ok: false, reason: 'too-large' };
  out.writeUInt16LE(datasize, 1);
  return { ok: true, head: out };
}
