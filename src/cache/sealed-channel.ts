/**
 * Both ends of sealed cache sync for one cache (uwrouter extension, `secret=FILE`): seals
 * outgoing plain packets with this process's sender id and sequence, and opens incoming
 * ones in the cheap-first order: header, timestamp and replay window, then the AEAD tag,
 * and only then records the sequence. Every refusal has a reason the stats count.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { CACHE_SYNC_MODIFIER1 } from '../protocol/cache-sync.ts';
import {
  deriveSealingKeys,
  openCacheSync,
  readSealedHeader,
  type SealedAead,
  type SealingKeys,
  sealCacheSync,
} from '../protocol/cache-sync-sealed.ts';
import { ReplayGuard } from './replay-guard.ts';

/** a sealed packet stamped further than this from the receiver's clock is refused */
export const SEALED_MAX_SKEW_MS = 30_000;
/** fewer secret bytes than this are refused at start-up (128 bits) */
export const MIN_SECRET_BYTES = 16;

export type SealedRefusal =
  /** a plain uWSGI packet reached a cache that accepts only sealed ones */
  | 'plaintext'
  /** neither sealed nor a uWSGI packet */
  | 'not-sealed'
  | 'bad-version'
  | 'unknown-aead'
  | 'truncated'
  /** stamped more than SEALED_MAX_SKEW_MS ago */
  | 'stale'
  /** stamped more than SEALED_MAX_SKEW_MS ahead */
  | 'future'
  /** this sender's sequence number was accepted before (or is older than the window) */
  | 'replay'
  /** the tag does not verify: forged, tampered with, or sealed under another secret */
  | 'bad-seal';

export type OpenResult = { ok: true; plain: Buffer } | { ok: false; reason: SealedRefusal };

/**
 * The secret file's bytes, trailing whitespace removed (so `openssl rand -hex 32 > FILE`
 * on one machine and an editor on another agree), and the keys derived from them.
 */
export function loadSyncSecret(path: string, cacheName: string): { keys: SealingKeys; warning?: string } {
  let bytes: Buffer;
  let mode: number;
  try {
    bytes = readFileSync(path);
    mode = statSync(path).mode;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError(`cache "${cacheName}": cannot read secret file "${path}": ${code}`);
  }
  let end = bytes.length;
  while (
    end > 0 &&
    (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d || bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)
  )
    end--;
  const secret = bytes.subarray(0, end);
  if (secret.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `cache "${cacheName}": secret file "${path}" holds ${secret.length} bytes; at least ${MIN_SECRET_BYTES} random bytes are needed (e.g. openssl rand -hex 32 > ${path})`,
    );
  }
  const keys = deriveSealingKeys(secret);
  const warning =
    (mode & 0o077) !== 0
      ? `cache "${cacheName}": secret file "${path}" can be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`
      : undefined;
  return { keys, warning };
}

export class SealedChannel {
  private readonly keys: SealingKeys;
  private readonly aead: SealedAead;
  private readonly sender = randomBytes(8);
  private seq = 0;
  private readonly guard = new ReplayGuard(SEALED_MAX_SKEW_MS);
  private readonly clockMs: () => number;

  constructor(keys: SealingKeys, aead: SealedAead, clockMs: () => number = Date.now) {
    this.keys = keys;
    this.aead = aead;
    this.clockMs = clockMs;
  }

  seal(plain: Buffer): Buffer {
    return sealCacheSync({
      aead: this.aead,
      keys: this.keys,
      sender: this.sender,
      seq: ++this.seq,
      timestampMs: this.clockMs(),
      nonce: randomBytes(12),
      plain,
    });
  }

  open(datagram: Buffer): OpenResult {
    const h = readSealedHeader(datagram);
    if (!h.ok) {
      if (h.error === 'not-sealed' && datagram.length > 0 && datagram[0] === CACHE_SYNC_MODIFIER1) {
        return { ok: false, reason: 'plaintext' };
      }
      return { ok: false, reason: h.error };
    }
    const verdict = this.guard.check(h.header, this.clockMs());
    if (verdict !== 'ok') return { ok: false, reason: verdict };
    const plain = openCacheSync(datagram, h.header.aead, this.keys);
    if (plain === null) return { ok: false, reason: 'bad-seal' };
    this.guard.accept(h.header);
    return { ok: true, plain };
  }
}
