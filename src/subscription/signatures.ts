/**
 * RSA-signed subscriptions, server side (spec: subscription.md §4): `DIGEST:DIR` checks,
 * key-file naming, a bounded public-key cache and verification of the exact signed range.
 */
import { createPublicKey, getHashes, type KeyObject, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { type SubscriptionPacket, signedBytes } from '../protocol/subscription.ts';

export interface SignCheck {
  /** digest name as Node knows it (normalised from the OpenSSL-style name given) */
  digest: string;
  dir: string;
}

let hashNames: Map<string, string> | undefined;

/** OpenSSL digest lookup is case-insensitive (`SHA1`, `sha256`, `RSA-SHA256`); map to Node's name. */
export function normalizeDigest(name: string): string | undefined {
  if (!hashNames) {
    hashNames = new Map();
    for (const h of getHashes()) hashNames.set(h.toLowerCase(), h);
  }
  return hashNames.get(name.toLowerCase());
}

/** Parses one `subscriptions-sign-check` value `DIGEST:DIR`; throws ConfigError. */
export function parseSignCheck(value: string, option = 'subscriptions-sign-check'): SignCheck {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new ConfigError(`--${option} "${value}": expected DIGEST:DIR, e.g. SHA256:/etc/uwsgi/keys`);
  }
  const name = value.slice(0, colon);
  const digest = normalizeDigest(name);
  if (!digest) {
    throw new ConfigError(`--${option} "${value}": unknown digest "${name}" (try SHA1 or SHA256)`);
  }
  return { digest, dir: value.slice(colon + 1) };
}

/** Every byte not in `[A-Za-z0-9._-]` becomes `_` (`example.com:8080` → `example.com_8080`). */
export function sanitizeKeyFileName(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, '_');
}

export type PublicKeyLookup =
  | { ok: true; key: KeyObject; digest: string }
  | { ok: false; reason: 'missing' | 'unreadable'; error?: unknown };

export interface PublicKeyStoreOptions {
  checks: readonly SignCheck[];
  /** seconds a lookup result (found or missing) is reused; default 5 */
  ttl?: number;
  /** bound on cached lookups; default 10000 */
  maxEntries?: number;
}

/**
 * Loads `DIR/sanitized(key).pem` trying each configured check in order; the first dir that
 * has the file wins, with that check's digest. Results — including "missing" — are cached
 * for `ttl` seconds so a flood of packets for unknown keys costs no file reads; pools keep
 * the key they were created with for their whole life (§4), so this cache only serves
 * pool creation.
 */
export class PublicKeyStore {
  private readonly checks: readonly SignCheck[];
  private readonly ttl: number;
  private readonly maxEntries: number;
  private readonly cache = new Map<string, { at: number; result: PublicKeyLookup }>();
  /** file reads done (tests, stats) */
  reads = 0;

  constructor(opts: PublicKeyStoreOptions) {
    this.checks = opts.checks;
    this.ttl = opts.ttl ?? 5;
    this.maxEntries = opts.maxEntries ?? 10000;
  }

  lookup(key: string, now: number): PublicKeyLookup {
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.ttl) return hit.result;
    const result = this.load(key);
    if (hit) this.cache.delete(key);
    else if (this.cache.size >= this.maxEntries) {
      // Map iterates in insertion order: drop the oldest entry
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { at: now, result });
    return result;
  }

  private load(key: string): PublicKeyLookup {
    const file = `${sanitizeKeyFileName(key)}.pem`;
    for (const c of this.checks) {
      let pem: Buffer;
      try {
        this.reads++;
        pem = readFileSync(join(c.dir, file));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        return { ok: false, reason: 'unreadable', error: e };
      }
      try {
        return { ok: true, key: createPublicKey(pem), digest: c.digest };
      } catch (e) {
        return { ok: false, reason: 'unreadable', error: e };
      }
    }
    return { ok: false, reason: 'missing' };
  }
}

/** Verifies the packet's `sign` over uWSGI's signed range (§4); false on any error. */
export function verifySubscription(
  datagram: Buffer,
  packet: SubscriptionPacket,
  key: KeyObject,
  digest: string,
): boolean {
  const base = signedBytes(datagram, packet);
  if (!base || !packet.sign) return false;
  try {
    return verify(digest, base, key, packet.sign);
  } catch {
    return false;
  }
}
