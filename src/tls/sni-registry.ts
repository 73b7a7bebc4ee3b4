/**
 * Which certificate a server name gets, in uWSGI's order (spec: ssl-sni-sessions.md §3):
 *
 *   1. exact name: static `--sni` items, then subscription certificates;
 *   2. with `--subscription-dotsplit`: step 1 again for `.a.com`, `.com` (5 tries in all),
 *      then stop — regexps and the directory are not consulted in that mode;
 *   3. `--sni-regexp` patterns in the order given (unanchored, as PCRE's match; compiled
 *      case-insensitive because names are lower-cased);
 *   4. `--sni-dir` files (uWSGI adds a loaded name to its step-1 list; looking it up here
 *      instead gives the same answers, because a name reaches step 4 only when no regexp
 *      matches it — except that a subscription certificate for the name now wins over
 *      files loaded earlier);
 *   5. none: the listener's own certificate.
 *
 * Names are compared after the ClientHello reader's normalisation (lower case, no trailing
 * dot); `--sni` names and subscription keys are normalised the same way. Lookups are
 * synchronous: no I/O except the sni-dir file checks (bounded, see sni-dir.ts).
 */
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type CertificateSpec, loadCertificateMaterial, pemSourceName } from './certificate-material.ts';
import type { SecureContextStore } from './secure-context-store.ts';
import { SniDirContexts } from './sni-dir.ts';
import { type EntryDeps, entryContext, type SniEntry, type TlsContextChoice } from './sni-entry.ts';
import { SubscriptionContexts, type SubscriptionSni } from './subscription-contexts.ts';
import { SubscriptionSniGuard } from './subscription-sni-guard.ts';
import type { SniItemSpec } from './tls-option-specs.ts';
import type { TlsSettings } from './tls-settings.ts';

export interface SniRegistryOptions {
  settings: TlsSettings;
  store: SecureContextStore;
  log: Logger;
  /** `--subscription-dotsplit` */
  dotsplit: boolean;
  /** `--sni-dir` */
  sniDir: string | undefined;
  now?: () => number;
}

/** how many names one dotsplit lookup tries: `www.a.com`, `.a.com`, `.com` … (spec §3) */
const DOTSPLIT_TRIES = 5;

function mergeSpecs(a: CertificateSpec, b: CertificateSpec, what: string): CertificateSpec {
  if (a.ciphers !== b.ciphers || a.clientCert !== b.clientCert || a.clientCa?.kind !== b.clientCa?.kind) {
    throw new ConfigError(
      `${what}: a second certificate for a name must have the same CIPHERS and CLIENT_CA`,
    );
  }
  if (a.clientCa && b.clientCa && pemSourceName(a.clientCa) !== pemSourceName(b.clientCa)) {
    throw new ConfigError(
      `${what}: a second certificate for a name must have the same CIPHERS and CLIENT_CA`,
    );
  }
  return { ...a, pairs: [...a.pairs, ...b.pairs] };
}

export class SniRegistry {
  readonly settings: TlsSettings;
  readonly store: SecureContextStore;
  readonly dotsplit: boolean;
  private readonly deps: EntryDeps;
  private readonly exact = new Map<string, SniEntry>();
  private readonly regexps: Array<{ pattern: string; re: RegExp; entry: SniEntry }> = [];
  private readonly subscriptions: SubscriptionContexts;
  private readonly dir: SniDirContexts | null;

  constructor(options: SniRegistryOptions) {
    this.settings = options.settings;
    this.store = options.store;
    this.dotsplit = options.dotsplit;
    this.deps = { store: options.store, log: options.log, now: options.now ?? Date.now };
    const s = options.settings;
    this.subscriptions = new SubscriptionContexts(
      {
        ciphers: s.sniDirCiphers,
        recheckMs: s.recheckMs,
        inlinePem: s.inlinePem,
        guard: new SubscriptionSniGuard(s.subscriptionsSniDir),
      },
      this.deps,
    );
    this.dir =
      options.sniDir === undefined
        ? null
        : new SniDirContexts(
            options.sniDir,
            { ciphers: s.sniDirCiphers, recheckMs: s.recheckMs, maxEntries: s.maxContexts },
            this.deps,
          );
  }

  /**
   * A static `--sni`/`--sni-regexp` item, checked now: unreadable files, a certificate
   * that is not one, a key that does not match, an expired certificate or a context
   * OpenSSL refuses are start-up errors naming the file (uWSGI logs and goes on). The same
   * name given twice with an RSA and an ECDSA certificate serves both.
   */
  addStatic(item: SniItemSpec): void {
    const what = `--${item.option} "${item.name}"`;
    const previous =
      item.option === 'sni'
        ? this.exact.get(item.name)
        : this.regexps.find((r) => r.pattern === item.name)?.entry;
    const spec = previous ? mergeSpecs(previous.spec, item.certificate, what) : item.certificate;
    const now = this.deps.now();
    const r = loadCertificateMaterial(spec, now);
    if (!r.ok) throw new ConfigError(`${what}: ${r.file}: ${r.reason}`);
    try {
      this.store.get(r.material, item.name); // OpenSSL's own checks: cipher list, key strength
    } catch (e) {
      throw new ConfigError(
        `${what}: OpenSSL refuses this certificate or cipher list: ${(e as Error).message}`,
      );
    }
    if (previous) {
      if (previous.material) this.store.forget(previous.material);
      previous.spec = spec;
      previous.material = r.material;
      previous.stamp = r.material.stamp;
      previous.buildFailed = false;
      return;
    }
    const entry: SniEntry = {
      source: item.option,
      name: item.name,
      spec,
      material: r.material,
      buildFailed: false,
      stamp: r.material.stamp,
      checkedAt: now,
    };
    if (item.option === 'sni') this.exact.set(item.name, entry);
    else this.regexps.push({ pattern: item.name, re: new RegExp(item.name, 'i'), entry });
  }

  /**
   * The context for a server name, built as `variant` (resumption.ts); null = use the
   * listener's own certificate.
   */
  lookup(serverName: string | null, variant?: number): TlsContextChoice | null {
    if (serverName === null) return null;
    let name = serverName;
    for (let tries = 0; tries < DOTSPLIT_TRIES; tries++) {
      const hit = this.exactEntry(name);
      if (hit) return this.choose(hit, variant);
      if (!this.dotsplit) break;
      const next = name.indexOf('.', 1);
      if (next < 0) break;
      name = name.slice(next);
    }
    if (this.dotsplit) return null;
    for (const { re, entry } of this.regexps) {
      if (re.test(serverName)) return this.choose(entry, variant);
    }
    if (this.dir) {
      const entry = this.dir.lookup(serverName);
      if (entry) return this.choose(entry, variant);
    }
    return null;
  }

  private exactEntry(name: string): SniEntry | null {
    const fixed = this.exact.get(name);
    if (fixed) return fixed;
    const sub = this.subscriptions.get(name);
    if (sub) return sub;
    return null;
  }

  private choose(entry: SniEntry, variant: number | undefined): TlsContextChoice | null {
    const context = entryContext(entry, this.deps, variant);
    if (context === null) return null;
    return {
      context,
      source: entry.source,
      name: entry.name,
      clientCert: entry.spec.clientCert,
      verifyDepth: this.settings.verifyDepth,
    };
  }

  /**
   * A subscribe packet for `poolKey` carried `sni_key`/`sni_crt` (see subscription-contexts.ts):
   * call it for every such packet. Files outside `--subscriptions-sni-dir` (or any, without
   * it) are refused here with a log line and counted (`subscriptionCertificatesRefused`).
   */
  attachSubscription(poolKey: string, sni: SubscriptionSni): void {
    this.subscriptions.attach(poolKey, sni);
  }

  /** The subscription pool `poolKey` was removed. */
  detachSubscription(poolKey: string): void {
    this.subscriptions.detach(poolKey);
  }

  /** Stats `sni_enabled` of a pool. */
  hasSubscriptionContext(poolKey: string): boolean {
    return this.subscriptions.has(poolKey);
  }

  /** Every pool `hasSubscriptionContext` says yes to (a cluster worker's stats answer). */
  subscriptionPoolKeys(): string[] {
    return this.subscriptions.poolKeys();
  }

  /** Subscribe packets whose certificate was refused (guard, inline PEM without --ssl-tmp-dir). */
  get subscriptionCertificatesRefused(): number {
    return this.subscriptions.refusedPackets;
  }

  /** Counts for stats and tests. */
  get counts(): { static: number; regexps: number; subscriptions: number; dir: number } {
    return {
      static: this.exact.size,
      regexps: this.regexps.length,
      subscriptions: this.subscriptions.size,
      dir: this.dir?.size ?? 0,
    };
  }
}
