/**
 * The subscription packet codec (spec: subscription.md §1, §4). Pure: Buffer in, result
 * out; decoding never throws on bad bytes. Strings are latin1 "binary strings" as in
 * `uwsgi.ts`, so any key/address bytes round-trip.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { type EncodeResult, parseDecimal, UWSGI_HEADER_SIZE, type VarsError, walkVars } from './uwsgi.ts';

/** byte 0 of every subscription packet (spec: subscription.md §1) */
export const SUBSCRIPTION_MODIFIER1 = 224;
/** keys longer than this overflow a fixed buffer in uWSGI 2.0: we reject them (§2.1) */
export const SUBSCRIPTION_MAX_KEY = 255;
export const SUBSCRIPTION_MAX_ADDRESS = 255;

export type SubscriptionCommand = 'subscribe' | 'unsubscribe';

export interface SubscriptionPacket {
  /** byte 3: 0 = subscribe, anything else = unsubscribe (§1) */
  cmd: SubscriptionCommand;
  /** the raw byte 3 (re-used by resubscribe, §2.3) */
  cmdByte: number;
  key: string | undefined;
  address: string | undefined;
  modifier1: number;
  modifier2: number;
  cores: number;
  load: number;
  weight: number;
  /** announced epoch (signed packets); undefined when absent */
  unix: number | undefined;
  /** raw signature bytes (a view into the datagram) */
  sign: Buffer | undefined;
  sniKey: string | undefined;
  sniCrt: string | undefined;
  sniCa: string | undefined;
  notify: string | undefined;
  /** 2.1: backup level (0 = normal node) */
  backup: number;
  /** 2.1: backend protocol, e.g. `http` */
  proto: string | undefined;
  /**
   * The bytes the signature covers, per uWSGI's receiver formula
   * `[4, len − (2+4+2+signLen))` (§4): it assumes `sign` is the last var, so a packet with
   * anything after `sign` yields a range that fails verification. `signedEnd === signedStart`
   * when the packet has no `sign` or the range would be empty (`signedBytes()` → null).
   */
  signedStart: number;
  signedEnd: number;
  /** the vars block was malformed after the vars above (they are still used, §2) */
  error: VarsError | undefined;
}

/** Mutable decode target reused by the module-level visitor (no closure per packet). */
let cur: SubscriptionPacket;

function emptyPacket(cmdByte: number): SubscriptionPacket {
  return {
    cmd: cmdByte === 0 ? 'subscribe' : 'unsubscribe',
    cmdByte,
    key: undefined,
    address: undefined,
    modifier1: 0,
    modifier2: 0,
    cores: 0,
    load: 0,
    weight: 0,
    unix: undefined,
    sign: undefined,
    sniKey: undefined,
    sniCrt: undefined,
    sniCa: undefined,
    notify: undefined,
    backup: 0,
    proto: undefined,
    signedStart: UWSGI_HEADER_SIZE,
    signedEnd: UWSGI_HEADER_SIZE,
    error: undefined,
  };
}

function keyIs(b: Buffer, ks: number, klen: number, name: string): boolean {
  for (let i = 0; i < klen; i++) if (b[ks + i] !== name.charCodeAt(i)) return false;
  return true;
}

function visitVar(b: Buffer, ks: number, ke: number, vs: number, ve: number): boolean {
  const klen = ke - ks;
  const p = cur;
  // Dispatch on length then bytes: no key string is allocated for known vars.
  switch (klen) {
    case 3:
      if (keyIs(b, ks, 3, 'key')) p.key = b.toString('latin1', vs, ve);
      break;
    case 4:
      if (keyIs(b, ks, 4, 'load')) p.load = parseDecimal(b, vs, ve);
      else if (keyIs(b, ks, 4, 'unix')) p.unix = parseDecimal(b, vs, ve);
      else if (keyIs(b, ks, 4, 'sign')) p.sign = b.subarray(vs, ve);
      break;
    case 5:
      if (keyIs(b, ks, 5, 'cores')) p.cores = parseDecimal(b, vs, ve);
      else if (keyIs(b, ks, 5, 'proto')) p.proto = b.toString('latin1', vs, ve);
      break;
    case 6:
      if (keyIs(b, ks, 6, 'weight')) p.weight = parseDecimal(b, vs, ve);
      else if (keyIs(b, ks, 6, 'sni_ca')) p.sniCa = b.toString('latin1', vs, ve);
      else if (keyIs(b, ks, 6, 'notify')) p.notify = b.toString('latin1', vs, ve);
      else if (keyIs(b, ks, 6, 'backup')) p.backup = parseDecimal(b, vs, ve);
      break;
    case 7:
      if (keyIs(b, ks, 7, 'address')) p.address = b.toString('latin1', vs, ve);
      else if (keyIs(b, ks, 7, 'sni_key')) p.sniKey = b.toString('latin1', vs, ve);
      else if (keyIs(b, ks, 7, 'sni_crt')) p.sniCrt = b.toString('latin1', vs, ve);
      break;
    case 9:
      if (keyIs(b, ks, 9, 'modifier1')) p.modifier1 = parseDecimal(b, vs, ve);
      else if (keyIs(b, ks, 9, 'modifier2')) p.modifier2 = parseDecimal(b, vs, ve);
      break;
  }
  return true;
}

/**
 * Decodes one datagram. Byte 0 and the datasize field are not checked; vars are read from
 * byte 4 to the end of the datagram and parse errors keep the vars already read (§2).
 * Returns null only when the datagram is shorter than the 4-byte header.
 */
export function decodeSubscription(buf: Buffer): SubscriptionPacket | null {
  if (buf.length < UWSGI_HEADER_SIZE) return null;
  const p = emptyPacket(buf[3]);
  cur = p;
  const r = walkVars(buf, UWSGI_HEADER_SIZE, buf.length, visitVar);
  if (r !== true) p.error = r;
  if (p.sign !== undefined) {
    // spec: subscription.md §4 — the receiver's formula, not the position of `sign`.
    const end = buf.length - (2 + 4 + 2 + p.sign.length);
    if (end > UWSGI_HEADER_SIZE) p.signedEnd = end;
  }
  return p;
}

/** The signed bytes of a decoded packet, or null when it carries no usable signature. */
export function signedBytes(buf: Buffer, p: SubscriptionPacket): Buffer | null {
  if (p.sign === undefined || p.sign.length === 0 || p.signedEnd <= p.signedStart) return null;
  return buf.subarray(p.signedStart, p.signedEnd);
}

/** What a node announces; numbers default to 0 as a 2.0 node sends them. */
export interface SubscriptionFields {
  key: string;
  address: string;
  modifier1?: number;
  modifier2?: number;
  cores?: number;
  load?: number;
  weight?: number;
  sniKey?: string;
  sniCrt?: string;
  sniCa?: string;
  notify?: string;
  /** 2.1 var, only emitted when > 0 */
  backup?: number;
  /** 2.1 var, only emitted when set */
  proto?: string;
}

export interface SubscriptionSigning {
  /** OpenSSL digest name as given in `DIGEST:KEYFILE` (`SHA1`, `sha256`, …) */
  digest: string;
  privateKey: KeyObject;
  /** epoch seconds; the encoder adds the command (0/1) as uWSGI does (§4) */
  now: number;
}

type Var = readonly [string, string | Buffer];

/** The vars of a packet in the order a 2.0 node writes them (spec: subscription.md §1). */
export function subscriptionVars(f: SubscriptionFields): Var[] {
  const vars: Var[] = [
    ['key', f.key],
    ['address', f.address],
    ['modifier1', String(f.modifier1 ?? 0)],
    ['modifier2', String(f.modifier2 ?? 0)],
    ['cores', String(f.cores ?? 0)],
    ['load', String(f.load ?? 0)],
    ['weight', String(f.weight ?? 0)],
  ];
  if (f.sniKey !== undefined) vars.push(['sni_key', f.sniKey]);
  if (f.sniCrt !== undefined) vars.push(['sni_crt', f.sniCrt]);
  if (f.sniCa !== undefined) vars.push(['sni_ca', f.sniCa]);
  if (f.notify !== undefined) vars.push(['notify', f.notify]);
  if (f.backup !== undefined && f.backup > 0) vars.push(['backup', String(f.backup)]);
  if (f.proto !== undefined) vars.push(['proto', f.proto]);
  return vars;
}

function varBytes(v: string | Buffer): number {
  return typeof v === 'string' ? v.length : v.length;
}

function writeVars(vars: readonly Var[], cmdByte: number): EncodeResult {
  let size = 0;
  for (const [k, v] of vars) {
    if (k.length === 0 || k.length > 0xffff || varBytes(v) > 0xffff) {
      return { ok: false, code: 'UWR_ERR_PACKET_TOO_LARGE', size: 0 };
    }
    size += 4 + k.length + varBytes(v);
  }
  if (size > 0xffff) return { ok: false, code: 'UWR_ERR_PACKET_TOO_LARGE', size };
  const out = Buffer.allocUnsafe(UWSGI_HEADER_SIZE + size);
  out[0] = SUBSCRIPTION_MODIFIER1;
  out[1] = size & 0xff;
  out[2] = size >>> 8;
  out[3] = cmdByte & 0xff;
  let p = UWSGI_HEADER_SIZE;
  for (const [k, v] of vars) {
    out[p] = k.length & 0xff;
    out[p + 1] = k.length >>> 8;
    p += 2 + out.write(k, p + 2, 'latin1');
    const vl = varBytes(v);
    out[p] = vl & 0xff;
    out[p + 1] = vl >>> 8;
    if (typeof v === 'string') out.write(v, p + 2, 'latin1');
    else v.copy(out, p + 2);
    p += 2 + vl;
  }
  return { ok: true, packet: out };
}

/**
 * Encodes a packet byte-identical to uWSGI 2.0's. With `signing`, appends
 * `unix = now + cmd` and then `sign` over the vars written so far (header excluded),
 * RSASSA-PKCS1-v1_5 via `crypto.sign` (spec: subscription.md §4). Never throws for
 * oversize input (returns `ok: false`); a bad key/digest throws from `crypto.sign`.
 */
export function encodeSubscription(
  cmd: SubscriptionCommand,
  fields: SubscriptionFields,
  signing?: SubscriptionSigning,
): EncodeResult {
  const cmdByte = cmd === 'subscribe' ? 0 : 1;
  const vars = subscriptionVars(fields);
  if (!signing) return writeVars(vars, cmdByte);
  vars.push(['unix', String(signing.now + cmdByte)]);
  const unsigned = writeVars(vars, cmdByte);
  if (!unsigned.ok) return unsigned;
  const base = unsigned.packet.subarray(UWSGI_HEADER_SIZE);
  const signature = cryptoSign(signing.digest, base, signing.privateKey);
  vars.push(['sign', signature]);
  return writeVars(vars, cmdByte);
}

/**
 * djb33x over the key bytes with C `char` sign extension, mod 65535: uWSGI's slot hash
 * shown as `hash` in stats and in the "new pool" log line (spec: subscription.md §10).
 */
export function subscriptionKeyHash(key: string): number {
  let h = 5381;
  for (let i = 0; i < key.length; i++) {
    let b = key.charCodeAt(i) & 0xff;
    if (b >= 0x80) b |= 0xffffff00;
    h = (Math.imul(h, 33) ^ b) >>> 0;
  }
  return h % 65535;
}
