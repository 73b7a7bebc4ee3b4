/**
 * The sealed cache sync packet (uwrouter extension): a uWSGI cache sync packet
 * (cache-sync.ts) encrypted and authenticated with an AEAD under a key derived from a shared
 * secret file, so that only holders of the secret can change a cache over UDP and nobody on
 * the path can read what it carries (TLS sessions hold their master secrets).
 *
 *   off len
 *    0   4  magic "UWCS" (byte 0 is 0x55, never 111: a uWSGI receiver ignores the packet)
 *    4   1  version 1
 *    5   1  AEAD: 1 = AES-256-GCM, 2 = ChaCha20-Poly1305
 *    6   8  sender id (random per sending process)
 *   14   8  sequence number (u64 BE, from 1, one per packet of that sender)
 *   22   8  timestamp (u64 BE, milliseconds since the epoch)
 *   30  12  nonce (random)
 *   42   n  ciphertext of the plain packet
 *  42+n 16  tag
 *
 * Bytes 0..41 are the additional authenticated data: changing any of them, the ciphertext or
 * the tag makes the open fail. Replay and freshness (sender, sequence, timestamp) are judged
 * by the receiver (src/cache/replay-window.ts) before the costly open.
 * Pure: Buffer in, result out; opening never throws on bad bytes.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

export const SEALED_MAGIC = Buffer.from('UWCS', 'latin1');
export const SEALED_VERSION = 1;
export const SEALED_HEADER_SIZE = 42;
export const SEALED_TAG_SIZE = 16;
const NONCE_SIZE = 12;

export type SealedAead = 'aes-256-gcm' | 'chacha20-poly1305';
export const SEALED_AEADS: readonly SealedAead[] = ['aes-256-gcm', 'chacha20-poly1305'];
const AEAD_ID: Record<SealedAead, number> = { 'aes-256-gcm': 1, 'chacha20-poly1305': 2 };
const AEAD_BY_ID: ReadonlyArray<SealedAead | undefined> = [undefined, 'aes-256-gcm', 'chacha20-poly1305'];

/** The keys of one secret, one per AEAD (derived apart so one key never serves two ciphers). */
export interface SealingKeys {
  readonly 'aes-256-gcm': Buffer;
  readonly 'chacha20-poly1305': Buffer;
}

/**
 * HKDF-SHA256 over the secret bytes. The salt names this use so the same file used for
 * something else yields unrelated keys.
 */
export function deriveSealingKeys(secret: Buffer): SealingKeys {
  const salt = Buffer.from('uwrouter cache sync v1', 'latin1');
  const derive = (aead: SealedAead): Buffer => Buffer.from(hkdfSync('sha256', secret, salt, aead, 32));
  return { 'aes-256-gcm': derive('aes-256-gcm'), 'chacha20-poly1305': derive('chacha20-poly1305') };
}

export interface SealedHeader {
  aead: SealedAead;
  /** 8 bytes as 16 hex digits (a map key) */
  sender: string;
  /** u64 as a number (exact up to 2^53: 285 years at a million packets a second) */
  seq: number;
  timestampMs: number;
}

export type SealedHeaderError =
  /** not a sealed packet at all (a plaintext uWSGI packet is `not-sealed` too) */
  'not-sealed' | 'bad-version' | 'unknown-aead' | 'truncated';

export type SealedHeaderResult = { ok: true; header: SealedHeader } | { ok: false; error: SealedHeaderError };

/** Reads the clear header (cheap: no crypto), so a receiver can refuse stale or replayed packets first. */
export function readSealedHeader(buf: Buffer): SealedHeaderResult {
  if (buf.length < 4 || buf.compare(SEALED_MAGIC, 0, 4, 0, 4) !== 0)
    return { ok: false, error: 'not-sealed' };
  if (buf.length < SEALED_HEADER_SIZE + SEALED_TAG_SIZE) return { ok: false, error: 'truncated' };
  if (buf[4] !== SEALED_VERSION) return { ok: false, error: 'bad-version' };
  const aead = AEAD_BY_ID[buf[5]];
  if (aead === undefined) return { ok: false, error: 'unknown-aead' };
  const seq = Number(buf.readBigUInt64BE(14));
  const timestampMs = Number(buf.readBigUInt64BE(22));
  return { ok: true, header: { aead, sender: buf.toString('hex', 6, 14), seq, timestampMs } };
}

export interface SealInput {
  aead: SealedAead;
  keys: SealingKeys;
  /** 8 bytes */
  sender: Buffer;
  seq: number;
  timestampMs: number;
  /** 12 random bytes, never reused under one key */
  nonce: Buffer;
  /** the plain uWSGI cache sync packet */
  plain: Buffer;
}

/** Seals one packet. Throws only on a programming error (wrong sizes). */
export function sealCacheSync(i: SealInput): Buffer {
  if (i.sender.length !== 8 || i.nonce.length !== NONCE_SIZE) throw new Error('internal: sender/nonce size');
  const out = Buffer.allocUnsafe(SEALED_HEADER_SIZE + i.plain.length + SEALED_TAG_SIZE);
  SEALED_MAGIC.copy(out, 0);
  out[4] = SEALED_VERSION;
  out[5] = AEAD_ID[i.aead];
  i.sender.copy(out, 6);
  out.writeBigUInt64BE(BigInt(i.seq), 14);
  out.writeBigUInt64BE(BigInt(i.timestampMs), 22);
  i.nonce.copy(out, 30);
  // both AEADs have the GCM-shaped API (setAAD, getAuthTag); the cast picks that overload
  const cipher = createCipheriv(i.aead as 'aes-256-gcm', i.keys[i.aead], i.nonce, {
    authTagLength: SEALED_TAG_SIZE,
  });
  cipher.setAAD(out.subarray(0, SEALED_HEADER_SIZE), { plaintextLength: i.plain.length });
  let at = SEALED_HEADER_SIZE;
  at += cipher.update(i.plain).copy(out, at);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/**
 * Opens a packet whose header `readSealedHeader` accepted: the plain packet, or null when
 * the tag does not verify (forged, tampered, or sealed under another secret).
 */
export function openCacheSync(buf: Buffer, aead: SealedAead, keys: SealingKeys): Buffer | null {
  const end = buf.length - SEALED_TAG_SIZE;
  if (end < SEALED_HEADER_SIZE) return null;
  try {
    const decipher = createDecipheriv(aead as 'aes-256-gcm', keys[aead], buf.subarray(30, 30 + NONCE_SIZE), {
      authTagLength: SEALED_TAG_SIZE,
    });
    decipher.setAAD(buf.subarray(0, SEALED_HEADER_SIZE), { plaintextLength: end - SEALED_HEADER_SIZE });
    decipher.setAuthTag(buf.subarray(end));
    const head = decipher.update(buf.subarray(SEALED_HEADER_SIZE, end));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}
