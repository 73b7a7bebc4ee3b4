/**
 * How TLS sessions resume beyond the process that made them, decided per ClientHello before
 * the handshake starts (Node encrypts tickets with the keys of the context a socket is
 * created with, so the choice of context is the choice of key):
 *
 * - `--ssl-ticket-keys FILE` (ticket-keys.ts): every context is built per key period; a
 *   hello carrying a ticket under an accepted period's key gets that period's build, any
 *   other hello the current period's. TLS 1.2 and 1.3, every node with the file.
 * - `--ssl-sessions-use-cache` without ticket keys: TLS 1.2 hellos get a build without
 *   tickets (as uWSGI turns tickets off), so they resume by session id through the cache
 *   (session-id-cache.ts); TLS 1.3 hellos keep this process's own tickets.
 * - neither: one build with Node's per-context random ticket keys (resumption only where the
 *   session was made).
 *
 * A build is named by a number (a "variant"): the store keeps up to a few per certificate
 * and builds one only when a handshake needs it, so a new rotation period costs each
 * certificate one build at its next handshake, never all of them at once.
 */
import type { ClientHello } from '../protocol/tls-client-hello.ts';
import type { TlsSessionIdCache } from './session-id-cache.ts';
import { offersTls13, type TicketKeys, ticketKeyName } from './ticket-keys.ts';

/** the single build without ticket keys: Node's random per-context ticket keys */
export const PROCESS_TICKETS = 0;
/** the build without tickets, for TLS 1.2 clients when a session cache is used */
export const NO_TICKETS = 1;

/** 2^32: a variant with ticket keys is generation × this + period */
const PERIOD_SPACE = 0x1_0000_0000;

export interface VariantBuild {
  /** Node's 48-byte ticketKeys; undefined = Node's random per-context ones */
  ticketKeys: Buffer | undefined;
  /** SSL_OP_NO_TICKET: no tickets (TLS 1.2 then resumes by session id) */
  noTickets: boolean;
}

export interface TlsResumptionCounters {
  /** hellos whose ticket is under an accepted key of another period than the current one */
  ticketsOtherPeriod: number;
  /** hellos whose ticket is under no accepted key (another file, an old key, not ours) */
  ticketsUnknownKey: number;
}

export class TlsResumption {
  readonly ticketKeys: TicketKeys | null;
  readonly counters: TlsResumptionCounters = { ticketsOtherPeriod: 0, ticketsUnknownKey: 0 };
  private cache: TlsSessionIdCache | null = null;

  constructor(ticketKeys: TicketKeys | null) {
    this.ticketKeys = ticketKeys;
  }

  /** The TLS 1.2 session-id cache, or null. */
  get sessionCache(): TlsSessionIdCache | null {
    return this.cache;
  }

  /** `--ssl-sessions-use-cache`: bound at start-up, before the first connection. */
  useSessionCache(cache: TlsSessionIdCache): void {
    this.cache = cache;
  }

  /** The build that serves this hello. */
  variantFor(hello: ClientHello | null): number {
    const keys = this.ticketKeys;
    if (keys === null) {
      return this.cache !== null && hello !== null && !offersTls13(hello) ? NO_TICKETS : PROCESS_TICKETS;
    }
    const current = keys.currentPeriod();
    const name = hello === null ? null : ticketKeyName(hello);
    let period = current;
    if (name !== null) {
      const p = keys.periodOfName(name, current);
      if (p === null) this.counters.ticketsUnknownKey++;
      else {
        period = p;
        if (p !== current) this.counters.ticketsOtherPeriod++;
      }
    }
    return keys.generation * PERIOD_SPACE + period;
  }

  /** What a build of `variant` is made with. */
  buildOf(variant: number): VariantBuild {
    const keys = this.ticketKeys;
    if (keys === null) return { ticketKeys: undefined, noTickets: variant === NO_TICKETS };
    return { ticketKeys: keys.keyFor(variant % PERIOD_SPACE), noTickets: false };
  }

  /** Is a build of `variant` still of use (its key accepted, its secret current)? */
  isLive(variant: number): boolean {
    const keys = this.ticketKeys;
    if (keys === null) return true;
    const generation = Math.floor(variant / PERIOD_SPACE);
    if (generation !== keys.generation) return false;
    return keys.accepts(variant % PERIOD_SPACE, keys.currentPeriod());
  }

  /** Bound for `isLive` callers that keep it (store, listener). */
  readonly live = (variant: number): boolean => this.isLive(variant);
}

/** Without any sharing (tests, and routers built without options): one build per certificate. */
export function noResumptionSharing(): TlsResumption {
  return new TlsResumption(null);
}
