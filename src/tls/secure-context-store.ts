/**
 * The one bounded store of built secure contexts. A context costs about 0.5–2 ms of CPU
 * and 25–35 KiB to build, so it is built lazily on the first handshake that needs it, kept
 * while used, and evicted when cold: least recently used first once the store holds more
 * than `maxContexts` contexts or more than `maxBytes` (estimated) bytes, or when idle for
 * longer than the caller's sweep allows. An evicted context is rebuilt from its material
 * (already in memory) on the next handshake; files are not read again.
 *
 * Contexts are keyed by their CertificateMaterial object: new material (a certificate that
 * changed on disk or arrived in a newer subscription) is a new key, and the owner forgets
 * the old one, so a replaced certificate is never served again.
 *
 * One material may have a few builds ("variants", resumption.ts: one per accepted ticket-key
 * period, or with and without tickets). Each build counts as one context in the bounds and
 * in the byte estimate; they are evicted together (least recently used material first), and
 * builds whose variant is no longer live (a ticket key out of the accepted window) are freed
 * when the material next needs a new build.
 */
import type { SecureContext } from 'node:tls';
import type { CertificateMaterial } from './certificate-material.ts';
import { ContextVariants } from './context-variants.ts';

export interface SecureContextStoreOptions {
  maxContexts: number;
  maxBytes: number;
  build: (material: CertificateMaterial, sessionIdContext: string, variant: number) => SecureContext;
  /** is a build of this variant still of use? (default: always) */
  isLive?: (variant: number) => boolean;
  /** the variant a get() without one builds (default: 0) */
  currentVariant?: () => number;
  /** bytes a built context is counted as */
  estimate: (material: CertificateMaterial) => number;
  /** clock for idle eviction (ms) */
  now?: () => number;
}

/**
 * Frees a context's OpenSSL SSL_CTX now instead of at V8's next major GC. V8 does not count
 * a SecureContext's native memory (~30–50 KiB), so evicted contexts piled up between GCs:
 * 10,000 --sni-dir names asked for once grew the process by ~320 MiB with 1,000 kept.
 * Connections already made with the context are unaffected (each SSL holds its own reference
 * to the SSL_CTX, and Node's TLS socket keeps the JS object): the store hands a context out
 * only to a TLS socket created in the same tick.
 */
export function freeSecureContextNow(context: SecureContext): void {
  (context as unknown as { context?: { close?: () => void } }).context?.close?.();
}

interface Held {
  variants: ContextVariants<SecureContext>;
  /** bytes each build is counted as */
  bytesEach: number;
  usedAt: number;
}

const always = (): boolean => true;
const zero = (): number => 0;

export interface SecureContextStoreStats {
  builds: number;
  hits: number;
  evictions: number;
}

export class SecureContextStore {
  readonly maxContexts: number;
  readonly maxBytes: number;
  readonly stats: SecureContextStoreStats = { builds: 0, hits: 0, evictions: 0 };
  private readonly build: SecureContextStoreOptions['build'];
  private readonly estimate: SecureContextStoreOptions['estimate'];
  private readonly isLive: (variant: number) => boolean;
  private readonly currentVariant: () => number;
  private readonly now: () => number;
  /** insertion order = recency order (a hit re-inserts): the first key is the coldest */
  private readonly held = new Map<CertificateMaterial, Held>();
  private totalBytes = 0;
  private contexts = 0;

  constructor(options: SecureContextStoreOptions) {
    this.maxContexts = Math.max(1, options.maxContexts);
    this.maxBytes = options.maxBytes;
    this.build = options.build;
    this.estimate = options.estimate;
    this.isLive = options.isLive ?? always;
    this.currentVariant = options.currentVariant ?? zero;
    this.now = options.now ?? Date.now;
  }

  /** built contexts held (every variant of every material) */
  get size(): number {
    return this.contexts;
  }

  /** materials with at least one built context */
  get materials(): number {
    return this.held.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(material: CertificateMaterial): boolean {
    return this.held.has(material);
  }

  /**
   * The context of `material` built as `variant` (default: the current one), built now if
   * not held. Throws what the build throws (the caller logs it and serves another context);
   * nothing is stored then.
   */
  get(
    material: CertificateMaterial,
    sessionIdContext: string,
    variant: number = this.currentVariant(),
  ): SecureContext {
    let h = this.held.get(material);
    if (h) {
      h.usedAt = this.now();
      this.held.delete(material);
      this.held.set(material, h);
      const context = h.variants.get(variant);
      if (context !== undefined) {
        this.stats.hits++;
        return context;
      }
      // a new build of a known material: drop its builds that are of no use any more first
      this.drop(h, h.variants.prune(this.isLive));
    }
    const context = this.build(material, sessionIdContext, variant);
    this.stats.builds++;
    if (h === undefined) {
      h = {
        variants: new ContextVariants<SecureContext>(),
        bytesEach: this.estimate(material),
        usedAt: this.now(),
      };
      this.held.set(material, h);
    }
    h.variants.set(variant, context);
    this.contexts++;
    this.totalBytes += h.bytesEach;
    this.evictOverBounds();
    return context;
  }

  /** Frees dropped builds of `h` and takes them out of the totals. */
  private drop(h: Held, dropped: SecureContext[]): void {
    for (const context of dropped) {
      this.contexts--;
      this.totalBytes -= h.bytesEach;
      freeSecureContextNow(context);
    }
  }

  /** Drops the context of material that is no longer served (replaced or removed). */
  forget(material: CertificateMaterial): void {
    const h = this.held.get(material);
    if (!h) return;
    this.held.delete(material);
    this.drop(h, h.variants.clear());
  }

  /** Evicts contexts unused for more than `idleMs`; returns how many. For a coarse sweep. */
  evictIdle(idleMs: number): number {
    const limit = this.now() - idleMs;
    let n = 0;
    // recency order: stop at the first one used recently enough
    for (const [m, h] of this.held) {
      if (h.usedAt > limit) break;
      this.evict(m, h);
      n++;
    }
    return n;
  }

  private evictOverBounds(): void {
    // the newest context stays even when it alone is over maxBytes: it is about to be used
    while (this.held.size > 1 && (this.contexts > this.maxContexts || this.totalBytes > this.maxBytes)) {
      const [m, h] = this.held.entries().next().value as [CertificateMaterial, Held];
      this.evict(m, h);
    }
  }

  private evict(m: CertificateMaterial, h: Held): void {
    this.held.delete(m);
    this.stats.evictions++;
    this.drop(h, h.variants.clear());
  }
}
