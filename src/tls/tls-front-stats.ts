/**
 * What the TLS fronts of one router count (handshakes, failures by reason, SNI misses,
 * handshakes refused over the cap) and show in its stats document under `tls`, with the
 * context store's figures; and the budget that keeps failure log lines bounded when a
 * flood of bad handshakes arrives.
 */
import type { TlsResumption } from './resumption.ts';
import type { SecureContextStore } from './secure-context-store.ts';
import type { SniRegistry } from './sni-registry.ts';

/** At most this many handshake failure lines per second; the rest are counted, then summed up. */
export const FAILURE_LINES_PER_SECOND = 20;

export class LogLineBudget {
  private second = -1;
  private used = 0;
  private readonly perSecond: number;
  /** lines held back since the last line written */
  suppressed = 0;

  constructor(perSecond = FAILURE_LINES_PER_SECOND) {
    this.perSecond = perSecond;
  }

  /** May a line be written now? (`nowMs`: the clock, for tests) */
  allow(nowMs: number = Date.now()): boolean {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.used = 0;
    }
    if (this.used >= this.perSecond) {
      this.suppressed++;
      return false;
    }
    this.used++;
    return true;
  }

  /** " (N similar lines suppressed)" once after lines were held back, else "". */
  takeSuppressed(): string {
    if (this.suppressed === 0) return '';
    const n = this.suppressed;
    this.suppressed = 0;
    return ` (${n} more TLS handshake failure lines suppressed before this one)`;
  }
}

export class TlsFrontStats {
  /** handshakes completed (client certificate accepted when one was asked for) */
  handshakes = 0;
  /** handshakes in progress now, over every listener of the router */
  inProgress = 0;
  /** oldest handshakes closed for a new connection because a listener had --ssl-max-handshakes in progress */
  evictedBusy = 0;
  /** handshakes whose server name matched no certificate (the listener's own was served) */
  sniMisses = 0;
  /** failed handshakes by reason (the ClientHello reader's reasons, timeout, OpenSSL's codes) */
  readonly failures = new Map<string, number>();
  /** completed handshakes by protocol version (`TLSv1.3`, …) */
  readonly versions = new Map<string, number>();
  /** completed handshakes that resumed a session (ticket or session id) */
  resumed = 0;
  /** completed handshakes in which the client presented a verified certificate */
  clientCertificates = 0;
  readonly logBudget = new LogLineBudget();

  fail(reason: string): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  completed(version: string | null, resumed = false): void {
    this.handshakes++;
    if (resumed) this.resumed++;
    const v = version ?? 'unknown';
    this.versions.set(v, (this.versions.get(v) ?? 0) + 1);
  }
}

/** How sessions resume: ticket keys and the session-id cache, for the stats document. */
function resumptionJson(r: TlsResumption): Record<string, unknown> {
  const keys = r.ticketKeys;
  const cache = r.sessionCache;
  return {
    ticket_keys: keys
      ? {
          rotation_seconds: keys.rotationMs / 1000,
          period: keys.currentPeriod(),
          generation: keys.generation,
          tickets_other_period: r.counters.ticketsOtherPeriod,
          tickets_unknown_key: r.counters.ticketsUnknownKey,
        }
      : null,
    session_cache: cache ? { cache: cache.store.name, timeout: cache.ttlSeconds, ...cache.counters } : null,
  };
}

/** The `tls` section of a router's stats document (uwrouter extension). */
export function tlsStatsSection(
  stats: TlsFrontStats,
  store: SecureContextStore,
  registry: SniRegistry,
  resumption?: TlsResumption,
): { readonly statsName: string; statsJson(): unknown } {
  return {
    statsName: 'tls',
    statsJson: () => ({
      handshakes: stats.handshakes,
      handshakes_in_progress: stats.inProgress,
      handshakes_evicted_busy: stats.evictedBusy,
      handshake_failures: Object.fromEntries(stats.failures),
      versions: Object.fromEntries(stats.versions),
      client_certificates: stats.clientCertificates,
      resumed: stats.resumed,
      ...(resumption ? resumptionJson(resumption) : {}),
      sni_misses: stats.sniMisses,
      contexts: store.size,
      contexts_bytes: store.bytes,
      contexts_max: store.maxContexts,
      context_builds: store.stats.builds,
      context_evictions: store.stats.evictions,
      sni_names: registry.counts,
      subscription_certificates_refused: registry.subscriptionCertificatesRefused,
    }),
  };
}
