/**
 * Subscription-governed certificates: a subscribe packet with `sni_key` and `sni_crt`
 * (optional `sni_ca`, "!" = required) makes the router serve that certificate for the
 * subscription key's name (the key up to its first ":"). The paths are router-side files,
 * or inline PEM with `--ssl-tmp-dir`; ciphers are `--sni-dir-ciphers`.
 * spec: ssl-sni-sessions.md §4
 *
 * Beyond uWSGI:
 * - entries are keyed by the port-less, normalised name and reference-counted by the pools
 *   (subscription keys) attached to them: `example.com:443` and `example.com:8443` share
 *   one context, freed when the last of those pools goes (uWSGI deletes by the full key,
 *   so keys with a port leak their context forever);
 * - a packet naming other files than the current ones replaces the context, and the files
 *   are re-checked for changes (at most every `recheckMs`) as packets keep arriving;
 *   uWSGI keeps the first certificate while the slot lives (issue #581).
 * - the files must be inside `--subscriptions-sni-dir` (subscription-sni-guard.ts), else
 *   the packet's certificate is refused (one log line per name and reason, every packet
 *   counted); the node itself is still subscribed.
 * A packet whose files cannot be loaded costs one log line (once per file state) and the
 * name is served as if it had no certificate of its own, as in uWSGI. A packet repeating
 * the previous one for its name (nodes re-announce every few seconds) costs a map lookup
 * and a string compare: no path is resolved again.
 */
import { normalizeHostKey } from '../protocol/host-key.ts';
import {
  type CertificateSpec,
  type ClientCertPolicy,
  filesStamp,
  type PemSource,
  sameSpec,
} from './certificate-material.ts';
import {
  type EntryDeps,
  loadEntry,
  refreshEntry,
  releaseEntry,
  replaceSpec,
  type SniEntry,
  tlsLog,
} from './sni-entry.ts';
import type { SubscriptionSniGuard } from './subscription-sni-guard.ts';

/** The SNI fields of a subscribe packet (spec: subscription.md, `sni_key`, `sni_crt`, `sni_ca`). */
export interface SubscriptionSni {
  key: string;
  crt: string;
  ca?: string;
}

interface SubscriptionEntry {
  entry: SniEntry;
  /** the SNI fields of the last packet handled for the name (packetId) */
  packet: string;
  /** the subscription keys (pools) using it */
  pools: Set<string>;
  /** a spec that failed to load and the stamp of its files then: not retried until they change */
  rejected: { spec: CertificateSpec; stamp: string } | null;
}

/** `Example.COM:8080` → `example.com` (the key up to the first ":", spec §4). */
export function subscriptionSniName(poolKey: string): string {
  const colon = poolKey.indexOf(':');
  return normalizeHostKey(colon < 0 ? poolKey : poolKey.slice(0, colon));
}

/** The SNI fields of a packet as one string (a repeated packet is recognised by it). */
function packetId(sni: SubscriptionSni): string {
  return `${sni.key}\0${sni.crt}\0${sni.ca ?? ''}`;
}

/** Subscriber-chosen text in a log line: bounded, control bytes escaped. */
function shown(v: string): string {
  const s = v.length > 200 ? `${v.slice(0, 200)}…` : v;
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface SubscriptionContextsOptions {
  ciphers: string | undefined;
  recheckMs: number;
  inlinePem: boolean;
  guard: SubscriptionSniGuard;
}

interface Refusal {
  packet: string;
  reason: string;
  at: number;
}

/** at most this many refused names are remembered (a flood of names cannot grow the map) */
const MAX_REFUSED_NAMES = 1000;

export class SubscriptionContexts {
  private readonly deps: EntryDeps;
  private readonly options: SubscriptionContextsOptions;
  private readonly byName = new Map<string, SubscriptionEntry>();
  /** names whose last packet's certificate was refused (guard, inline PEM without --ssl-tmp-dir) */
  private readonly refused = new Map<string, Refusal>();
  /** packets whose certificate was refused (stats) */
  refusedPackets = 0;

  constructor(options: SubscriptionContextsOptions, deps: EntryDeps) {
    this.options = options;
    this.deps = deps;
  }

  get size(): number {
    return this.byName.size;
  }

  /** The entry serving `name`, if a subscription set one (and it loaded). */
  get(name: string): SniEntry | null {
    const s = this.byName.get(name);
    if (!s) return null;
    if (s.entry.material !== null) refreshEntry(s.entry, this.deps, this.options.recheckMs);
    return s.entry.material === null ? null : s.entry;
  }

  /** Is a certificate attached for this pool's name (stats: `sni_enabled`)? */
  has(poolKey: string): boolean {
    return this.byName.get(subscriptionSniName(poolKey))?.pools.has(poolKey) ?? false;
  }

  /** Every pool with a certificate attached (what `has` says yes to), for a cluster primary's stats. */
  poolKeys(): string[] {
    const out: string[] = [];
    for (const s of this.byName.values()) for (const k of s.pools) out.push(k);
    return out;
  }

  private spec(name: string, sni: SubscriptionSni): CertificateSpec | string {
    const guard = this.options.guard;
    const src = (v: string): PemSource | string => {
      if (!v.startsWith('-----BEGIN ')) {
        const verdict = guard.check(v);
        return verdict.ok ? { kind: 'file', path: verdict.path } : `${shown(v)}: ${verdict.reason}`;
      }
      if (!guard.enabled) return 'subscription certificates are refused without --subscriptions-sni-dir';
      return this.options.inlinePem
        ? { kind: 'inline', pem: v }
        : 'inline PEM needs --ssl-tmp-dir (as in uWSGI)';
    };
    const crt = src(sni.crt);
    const key = src(sni.key);
    let clientCert: ClientCertPolicy = 'none';
    let clientCa: PemSource | string | undefined;
    if (sni.ca !== undefined && sni.ca !== '') {
      clientCert = sni.ca.startsWith('!') ? 'required' : 'optional';
      clientCa = src(clientCert === 'required' ? sni.ca.slice(1) : sni.ca);
    }
    for (const s of [crt, key, clientCa]) if (typeof s === 'string') return s;
    return {
      label: name,
      pairs: [{ cert: crt as PemSource, key: key as PemSource }],
      ciphers: this.options.ciphers,
      clientCa: clientCa as PemSource | undefined,
      clientCert,
    };
  }

  /**
   * A subscribe packet for `poolKey` carried SNI fields (call it for every such packet;
   * repeating the same packet costs a map lookup, and a file check every `recheckMs`).
   */
  attach(poolKey: string, sni: SubscriptionSni): void {
    if (sni.key === '' || sni.crt === '') return; // uWSGI needs both (spec §4)
    const name = subscriptionSniName(poolKey);
    const id = packetId(sni);
    const s = this.byName.get(name);
    if (s !== undefined && s.packet === id) {
      // the same packet again (a re-announce): no path is resolved again
      s.pools.add(poolKey);
      if (s.entry.material !== null) refreshEntry(s.entry, this.deps, this.options.recheckMs);
      else if (s.rejected) this.retryRejected(s, s.rejected.spec);
      return;
    }
    const refusal = this.refused.get(name);
    if (
      refusal !== undefined &&
      refusal.packet === id &&
      this.deps.now() - refusal.at < this.options.recheckMs
    ) {
      this.refusedPackets++;
      return;
    }
    const spec = this.spec(name, sni);
    if (typeof spec === 'string') {
      this.refuse(name, id, spec);
      return;
    }
    this.refused.delete(name);
    if (!s) {
      const entry = loadEntry('subscription', name, spec, this.deps);
      if (entry.material !== null) tlsLog.added(this.deps.log, name);
      const rejected = entry.material === null ? { spec, stamp: entry.stamp } : null;
      this.byName.set(name, { entry, packet: id, pools: new Set([poolKey]), rejected });
      return;
    }
    s.pools.add(poolKey);
    s.packet = id;
    if (sameSpec(s.entry.spec, spec) && s.entry.material !== null) {
      refreshEntry(s.entry, this.deps, this.options.recheckMs);
      return;
    }
    // other files than those in service (or the ones in service never loaded)
    if (s.rejected && sameSpec(s.rejected.spec, spec)) {
      this.retryRejected(s, spec);
      return;
    }
    this.replace(s, spec);
  }

  /** Files that failed to load: tried again once they change (checked every `recheckMs`). */
  private retryRejected(s: SubscriptionEntry, spec: CertificateSpec): void {
    const rejected = s.rejected!;
    if (this.deps.now() - s.entry.checkedAt < this.options.recheckMs) return;
    s.entry.checkedAt = this.deps.now();
    const stamp = filesStamp(spec);
    if (stamp === rejected.stamp) return;
    rejected.stamp = stamp;
    this.replace(s, spec);
  }

  private replace(s: SubscriptionEntry, spec: CertificateSpec): void {
    if (replaceSpec(s.entry, spec, this.deps, 'a newer subscription names other files')) {
      s.rejected = null;
    } else {
      s.rejected = { spec, stamp: filesStamp(spec) };
    }
  }

  /** One log line per name and reason (nodes re-announce every few seconds); every packet counted. */
  private refuse(name: string, packet: string, reason: string): void {
    this.refusedPackets++;
    const previous = this.refused.get(name);
    if (previous === undefined && this.refused.size >= MAX_REFUSED_NAMES) {
      const oldest = this.refused.keys().next().value as string;
      this.refused.delete(oldest);
    }
    this.refused.set(name, { packet, reason, at: this.deps.now() });
    if (previous?.reason === reason) return;
    this.deps.log.error(
      { code: 'UWR_ERR_SNI_PATH' },
      `[uwsgi-sni for pid ${process.pid}] subscription certificate for "${name}" refused: ${reason}`,
    );
  }

  /** The pool `poolKey` is gone (its last node left): the name's context goes with its last pool. */
  detach(poolKey: string): void {
    const name = subscriptionSniName(poolKey);
    this.refused.delete(name);
    const s = this.byName.get(name);
    if (s === undefined || !s.pools.delete(poolKey) || s.pools.size > 0) return;
    this.byName.delete(name);
    const had = s.entry.material !== null;
    releaseEntry(s.entry, this.deps);
    if (had) tlsLog.destroyed(this.deps.log, name);
  }
}
