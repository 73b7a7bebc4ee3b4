/**
 * Session ticket keys shared by every node that has the same `--ssl-ticket-keys FILE`
 * (uwrouter extension; issue 9 part 5). Node holds one 48-byte ticket key per secure context
 * (16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key) and refuses a ticket whose
 * first 16 bytes are not that name, so:
 *
 * - time is cut into periods of `--ssl-ticket-keys-rotation` seconds counted from the Unix
 *   epoch; the key of period e is HKDF-SHA256(secret = the file's bytes, salt
 *   "uwrouter ticket keys v1", info = "period" ‖ e as 8 bytes big-endian), 48 bytes, so
 *   every process and every node with the file derives the same key without talking;
 * - new tickets are made under the current period's key; a ticket is accepted when its key
 *   name is that of period e−2 … e+1 (the previous two for rotation, the next one for a
 *   node whose clock is ahead): the front reads the name from the ClientHello (ext 35 in
 *   TLS 1.2, the first PSK identity in TLS 1.3) and uses a context built with that key.
 *
 * Forward secrecy of resumed sessions is bounded by how long the file lives: anyone who
 * reads it can decrypt every ticket made under it. Rotate the file with deployments.
 */
import { hkdfSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { ClientHello } from '../protocol/tls-client-hello.ts';
import { givenPemText, readPemFile } from './pem-files.ts';

/** Node's ticketKeys: key name, HMAC secret, AES key, 16 bytes each */
export const TICKET_KEY_BYTES = 48;
export const TICKET_KEY_NAME_BYTES = 16;
/** the file must hold at least this many bytes (after trailing whitespace) */
export const MIN_TICKET_SECRET_BYTES = 32;
/** and at least this many distinct byte values: `aaaa…` or `0000…` is not a secret */
const MIN_DISTINCT_BYTES = 8;
/** periods before the current one whose tickets are still accepted */
export const TICKET_PERIODS_BEFORE = 2;
/** periods after the current one whose tickets are accepted (a node whose clock is ahead) */
export const TICKET_PERIODS_AFTER = 1;

const SALT = Buffer.from('uwrouter ticket keys v1');
const INFO_LABEL = Buffer.from('period');
/** supported_versions value of TLS 1.3 (RFC 8446 §4.2.1) */
const TLS13 = 0x0304;

/** The 48-byte ticket key of `period` for `secret` (see the file comment for the layout). */
export function deriveTicketKey(secret: Buffer, period: number): Buffer {
  const info = Buffer.alloc(INFO_LABEL.length + 8);
  INFO_LABEL.copy(info, 0);
  info.writeBigUInt64BE(BigInt(period), INFO_LABEL.length);
  return Buffer.from(hkdfSync('sha256', secret, SALT, info, TICKET_KEY_BYTES));
}

/** Does the client offer TLS 1.3 (supported_versions, ext 43)? Then TLS 1.3 is what it gets. */
export function offersTls13(hello: ClientHello): boolean {
  return hello.supportedVersions.includes(TLS13);
}

/**
 * The key name of the ticket the client wants to resume with, a view into the hello: the
 * first 16 bytes of the first PSK identity when it offers TLS 1.3, else of the session_ticket
 * extension; null when it offers none (or one too short to be a ticket of ours).
 */
export function ticketKeyName(hello: ClientHello): Buffer | null {
  if (hello.pskIdentities.length > 0 && offersTls13(hello)) {
    const id = hello.pskIdentities[0];
    return id.length >= TICKET_KEY_NAME_BYTES ? id.subarray(0, TICKET_KEY_NAME_BYTES) : null;
  }
  const t = hello.sessionTicket;
  return t !== null && t.length >= TICKET_KEY_NAME_BYTES ? t.subarray(0, TICKET_KEY_NAME_BYTES) : null;
}

/** The file's bytes without trailing whitespace (so `openssl rand -hex 32 > FILE` and an editor agree). */
function trimmed(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0) {
    const b = bytes[end - 1];
    if (b !== 0x0a && b !== 0x0d && b !== 0x20 && b !== 0x09) break;
    end--;
  }
  return bytes.subarray(0, end);
}

export type TicketSecretRead = { ok: true; secret: Buffer; warning?: string } | { ok: false; reason: string };

/**
 * Reads and checks a ticket key file; never throws. Read through pem-files.ts, so a cluster
 * primary records the bytes (read as root before the privilege drop) and its workers, which
 * may not read a root-only file, are given them.
 */
export function readTicketSecret(path: string): TicketSecretRead {
  const given = givenPemText(path);
  let bytes: Buffer;
  // a worker given the bytes: the primary checked the file (and warned about its mode)
  let mode = 0o600;
  if (given !== undefined) bytes = Buffer.from(given, 'latin1');
  else {
    try {
      const st = statSync(path);
      if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
      mode = st.mode;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      // a root-only directory after the drop: the read below may fall back to the start's copy
      if (code !== 'EACCES' && code !== 'EPERM') return { ok: false, reason: `cannot read it: ${code}` };
    }
    const r = readPemFile(path);
    if (!r.ok) return { ok: false, reason: `cannot read it: ${r.code}` };
    bytes = Buffer.from(r.text, 'latin1');
  }
  const secret = trimmed(bytes);
  if (secret.length < MIN_TICKET_SECRET_BYTES) {
    return {
      ok: false,
      reason: `it holds ${secret.length} bytes; at least ${MIN_TICKET_SECRET_BYTES} random bytes are needed (e.g. openssl rand 48 > ${path})`,
    };
  }
  const distinct = new Set(secret).size;
  if (distinct < MIN_DISTINCT_BYTES) {
    return {
      ok: false,
      reason: `it does not look random (${distinct} distinct byte values); make it with openssl rand 48 > ${path}`,
    };
  }
  const warning =
    (mode & 0o077) !== 0
      ? `--ssl-ticket-keys ${path}: the file can be read by other users (mode ${(mode & 0o777).toString(8)}); whoever reads it can decrypt resumed TLS sessions: chmod 600 it`
      : undefined;
  return { ok: true, secret: Buffer.from(secret), ...(warning ? { warning } : {}) };
}

export interface TicketKeysOptions {
  /** `--ssl-ticket-keys-rotation` in seconds (≥ 1) */
  rotationSeconds: number;
  /** the file the secret came from (reload reads it again) */
  file?: string;
  /** clock (ms since the epoch) */
  now?: () => number;
}

export type TicketKeysReload = 'unchanged' | 'replaced' | { error: string };

/**
 * The keys of one secret, derived per period on first use (at most the accepted window is
 * kept). `generation` changes when the secret does, so contexts built under the old secret
 * are known to be stale.
 */
export class TicketKeys {
  readonly rotationMs: number;
  readonly file: string | undefined;
  private secret: Buffer;
  private readonly now: () => number;
  private gen = 0;
  /** period → derived key, for the periods asked about recently */
  private readonly keys = new Map<number, Buffer>();

  constructor(secret: Buffer, options: TicketKeysOptions) {
    if (!Number.isInteger(options.rotationSeconds) || options.rotationSeconds < 1) {
      throw new RangeError('rotationSeconds must be a whole number ≥ 1');
    }
    this.secret = secret;
    this.rotationMs = options.rotationSeconds * 1000;
    this.file = options.file;
    this.now = options.now ?? Date.now;
  }

  /** Reads FILE now; an unreadable, short or non-random file is a start-up error naming it. */
  static fromFile(
    path: string,
    options: Omit<TicketKeysOptions, 'file'>,
  ): { keys: TicketKeys; warning?: string } {
    const r = readTicketSecret(path);
    if (!r.ok) throw new ConfigError(`option "--ssl-ticket-keys": ${path}: ${r.reason}`);
    return { keys: new TicketKeys(r.secret, { ...options, file: path }), warning: r.warning };
  }

  /** Changes each time the secret does (a reload with other bytes). */
  get generation(): number {
    return this.gen;
  }

  /** The period the clock is in now. */
  currentPeriod(): number {
    return Math.floor(this.now() / this.rotationMs);
  }

  /** The 48-byte key of `period`. */
  keyFor(period: number): Buffer {
    let k = this.keys.get(period);
    if (k === undefined) {
      k = deriveTicketKey(this.secret, period);
      // keep only what the window can still ask for (the map never grows past a few keys)
      if (this.keys.size >= TICKET_PERIODS_BEFORE + TICKET_PERIODS_AFTER + 2) {
        for (const p of this.keys.keys()) {
          if (p < period - TICKET_PERIODS_BEFORE || p > period + TICKET_PERIODS_AFTER) this.keys.delete(p);
        }
      }
      this.keys.set(period, k);
    }
    return k;
  }

  /** Is a ticket made under `period`'s key still accepted when the clock is in `current`? */
  accepts(period: number, current: number): boolean {
    return period >= current - TICKET_PERIODS_BEFORE && period <= current + TICKET_PERIODS_AFTER;
  }

  /**
   * The accepted period whose key name is `name`, or null (another secret, an expired key,
   * or not a ticket of ours). The current period is tried first.
   */
  periodOfName(name: Buffer, current: number): number | null {
    if (this.nameMatches(current, name)) return current;
    for (let p = current - 1; p >= current - TICKET_PERIODS_BEFORE; p--) {
      if (this.nameMatches(p, name)) return p;
    }
    for (let p = current + 1; p <= current + TICKET_PERIODS_AFTER; p++) {
      if (this.nameMatches(p, name)) return p;
    }
    return null;
  }

  private nameMatches(period: number, name: Buffer): boolean {
    const k = this.keyFor(period);
    // 16 bytes compared: a key name is not secret (it travels in every ticket)
    return k.compare(name, 0, TICKET_KEY_NAME_BYTES, 0, TICKET_KEY_NAME_BYTES) === 0;
  }

  /**
   * SIGHUP: reads the file again. Other valid bytes replace the secret (tickets made under
   * the old one then get a full handshake); a file that became unreadable or invalid is
   * reported and the current secret stays in service.
   */
  reload(): TicketKeysReload {
    if (this.file === undefined) return 'unchanged';
    const r = readTicketSecret(this.file);
    if (!r.ok) return { error: r.reason };
    if (r.secret.equals(this.secret)) return 'unchanged';
    this.secret = r.secret;
    this.keys.clear();
    this.gen++;
    return 'replaced';
  }
}
