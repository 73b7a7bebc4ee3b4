/**
 * Applies subscription datagrams to a table in uWSGI's order (spec: subscription.md
 * §2.1, §2.2), with signature and replay checks (§4) and per-reason counters. Never throws.
 */

import type { KeyObject } from 'node:crypto';
import { parseBackendAddress } from '../corerouter/address.ts';
import type { BackendAddress } from '../corerouter/types.ts';
import type { Logger } from '../logger.ts';
import {
  decodeSubscription,
  SUBSCRIPTION_MAX_ADDRESS,
  SUBSCRIPTION_MAX_KEY,
  type SubscriptionPacket,
} from '../protocol/subscription.ts';
import { LogLimiter, printable } from './log-limiter.ts';
import { SubscriptionNode } from './node.ts';
import { SubscriptionPool } from './pool.ts';
import { checkNewNodeTime, checkRefreshTime, checkUnsubscribeTime, type ReplayVerdict } from './replay.ts';
import { type PublicKeyStore, verifySubscription } from './signatures.ts';
import type { SubscriptionTable } from './table.ts';

export type RejectReason =
  | 'bad-packet'
  | 'no-key'
  | 'bad-address'
  | 'key-too-long'
  | 'unsigned'
  | 'no-public-key'
  | 'bad-signature'
  | 'replay'
  | 'too-old'
  | 'too-new';

export const REJECT_REASONS: readonly RejectReason[] = [
  'bad-packet',
  'no-key',
  'bad-address',
  'key-too-long',
  'unsigned',
  'no-public-key',
  'bad-signature',
  'replay',
  'too-old',
  'too-new',
];

export type AcceptResult = 'new-pool' | 'new-node' | 'refresh' | 'unsubscribe' | 'unknown-node';

export type DatagramOutcome =
  | { ok: true; result: AcceptResult; packet: SubscriptionPacket }
  | { ok: false; reason: RejectReason; packet: SubscriptionPacket | null };

export interface SubscriptionCounters {
  datagrams: number;
  accepted: Record<AcceptResult, number>;
  rejected: Record<RejectReason, number>;
}

export interface SigningOptions {
  store: PublicKeyStore;
  /** `subscriptions-sign-check-tolerance`, default 86400 */
  tolerance?: number;
}

export interface SubscriptionReceiverOptions {
  logger?: Logger;
  /** set to enable `subscriptions-sign-check` */
  signing?: SigningOptions;
  /** seconds between two log lines for the same key+reason; default 60 */
  logInterval?: number;
}

function accepted(): Record<AcceptResult, number> {
  return { 'new-pool': 0, 'new-node': 0, refresh: 0, unsubscribe: 0, 'unknown-node': 0 };
}

function rejected(): Record<RejectReason, number> {
  const r = {} as Record<RejectReason, number>;
  for (const k of REJECT_REASONS) r[k] = 0;
  return r;
}

export class SubscriptionReceiver {
  readonly table: SubscriptionTable;
  readonly counters: SubscriptionCounters = { datagrams: 0, accepted: accepted(), rejected: rejected() };
  private readonly logger: Logger;
  private readonly signing: SigningOptions | undefined;
  private readonly signTolerance: number;
  private readonly limiter: LogLimiter;
  private readonly subTag: string;

  constructor(table: SubscriptionTable, opts: SubscriptionReceiverOptions = {}) {
    this.table = table;
    this.logger = opts.logger ?? table.logger;
    this.signing = opts.signing;
    this.signTolerance = opts.signing?.tolerance ?? 86400;
    this.limiter = new LogLimiter(opts.logInterval ?? 60);
    this.subTag = `uwsgi-subscription for pid ${table.pid}`;
  }

  /** Decodes and applies one datagram. */
  handle(datagram: Buffer): DatagramOutcome {
    this.counters.datagrams++;
    const packet = decodeSubscription(datagram);
    if (!packet) return this.reject('bad-packet', null, '', 'datagram shorter than 4 bytes');
    try {
      return packet.cmd === 'subscribe'
        ? this.subscribe(datagram, packet)
        : this.unsubscribe(datagram, packet);
    } catch (e) {
      // defensive: a hook or logger throwing must not take the server down
      return this.reject('bad-packet', packet, packet.key ?? '', `internal error: ${(e as Error).message}`);
    }
  }

  private reject(
    reason: RejectReason,
    packet: SubscriptionPacket | null,
    key: string,
    detail: string | undefined,
  ): DatagramOutcome {
    this.counters.rejected[reason]++;
    // `unsigned` and `no-public-key` are silent in uWSGI (§2.1, §4); we log them rate-limited too
    if (detail !== undefined && this.limiter.allow(key, reason, this.table.clock.now())) {
      this.logger.warn(
        { code: 'UWR_ERR_BAD_SUBSCRIPTION', reason, key: printable(key) },
        `[${this.subTag}] subscription rejected (${reason}) for key "${printable(key.slice(0, 300))}": ${detail}`,
      );
    }
    return { ok: false, reason, packet };
  }

  private accept(result: AcceptResult, packet: SubscriptionPacket): DatagramOutcome {
    this.counters.accepted[result]++;
    return { ok: true, result, packet };
  }

  /** common checks of §2.1 step 1 (plus our key checks) */
  private checkKey(packet: SubscriptionPacket): RejectReason | null {
    if (packet.key === undefined || packet.key.length === 0) return 'no-key';
    if (packet.key.length > SUBSCRIPTION_MAX_KEY) return 'key-too-long';
    return null;
  }

  /** No signature (silent, as uWSGI), or a timestamp the replay rules refuse; null = fine. */
  private unsignedOrStale(
    packet: SubscriptionPacket,
    key: string,
    verdict: ReplayVerdict,
  ): DatagramOutcome | null {
    if (!packet.sign || packet.signedEnd <= packet.signedStart)
      return this.reject('unsigned', packet, key, undefined);
    return verdict ? this.sniffed(verdict, packet, key) : null;
  }

  /** No public key for the pool, or a signature that does not verify with it; null = fine. */
  private badSignature(
    datagram: Buffer,
    packet: SubscriptionPacket,
    key: string,
    publicKey: KeyObject | undefined,
    digest: string | undefined,
    what: string,
  ): DatagramOutcome | null {
    if (!publicKey || !digest) return this.reject('no-public-key', packet, key, undefined);
    if (verifySubscription(datagram, packet, publicKey, digest)) return null;
    return this.reject('bad-signature', packet, key, `signature check failed ${what}`);
  }

  private sniffed(reason: ReplayVerdict & string, packet: SubscriptionPacket, key: string): DatagramOutcome {
    // uWSGI's own line for replay/freshness failures (§2.1), rate-limited here
    this.counters.rejected[reason]++;
    if (this.limiter.allow(key, reason, this.table.clock.now())) {
      this.logger.info(
        `[${this.subTag}] invalid (sniffed ?) packet sent for slot: ${printable(key)} node: ${printable(packet.address ?? '')} unix_check: ${packet.unix ?? 0}`,
      );
    }
    return { ok: false, reason, packet };
  }

  private subscribe(datagram: Buffer, packet: SubscriptionPacket): DatagramOutcome {
    const name = packet.address;
    if (name === undefined || name.length === 0 || name.length > SUBSCRIPTION_MAX_ADDRESS) {
      return this.reject('bad-address', packet, packet.key ?? '', undefined); // uWSGI: silent drop
    }
    const keyError = this.checkKey(packet);
    if (keyError)
      return this.reject(keyError, packet, packet.key ?? '', `invalid key (node ${printable(name)})`);
    const key = packet.key as string;
    const parsed = parseBackendAddress(name, packet.proto === 'http' ? 'http' : 'uwsgi');
    // the node re-parses lazily on first pick (memory); here we only validate
    if (!parsed.ok)
      return this.reject('bad-address', packet, key, `"${printable(name)}" is not a socket address`);
    const table = this.table;
    const now = table.clock.now();
    const signing = this.signing;
    const pool = table.pools.get(key);
    if (pool) {
      const node = pool.findNode(name);
      if (signing) {
        // cheap checks before the RSA verify, so replays cost no crypto (same verdict: drop)
        const unix = packet.unix ?? 0;
        const refused =
          this.unsignedOrStale(
            packet,
            key,
            node
              ? checkRefreshTime(unix, node.unixCheck, now, this.signTolerance)
              : checkNewNodeTime(unix, now, this.signTolerance),
          ) ??
          this.badSignature(datagram, packet, key, pool.publicKey, pool.digest, `(node ${printable(name)})`);
        if (refused) return refused;
      }
      if (node) {
        node.refresh(now, packet.cores, packet.load, packet.weight);
        this.updateSni(pool, packet);
        return this.accept('refresh', packet);
      }
      this.updateSni(pool, packet);
      table.addNode(pool, this.newNode(pool, name, parsed.value, packet, now));
      this.logger.info(`[${this.subTag}] ${printable(key)} => new node: ${printable(name)}`);
      return this.accept('new-node', packet);
    }
    let newPool: SubscriptionPool;
    if (signing) {
      const stale = this.unsignedOrStale(
        packet,
        key,
        checkNewNodeTime(packet.unix ?? 0, now, this.signTolerance),
      );
      if (stale) return stale;
      const found = signing.store.lookup(key, now);
      if (!found.ok) {
        if (found.reason === 'unreadable') {
          this.counters.rejected['no-public-key']++;
          if (this.limiter.allow(key, 'no-public-key', now)) {
            this.logger.error(`unable to load public key for ${printable(key)}`);
          }
          return { ok: false, reason: 'no-public-key', packet };
        }
        return this.reject('no-public-key', packet, key, undefined);
      }
      const bad = this.badSignature(
        datagram,
        packet,
        key,
        found.key,
        found.digest,
        `(node ${printable(name)})`,
      );
      if (bad) return bad;
      newPool = new SubscriptionPool(key, found.key, found.digest);
    } else {
      newPool = new SubscriptionPool(key);
    }
    this.updateSni(newPool, packet);
    table.addPool(newPool);
    this.logger.info(`[${this.subTag}] new pool: ${printable(key)} (hash key: ${newPool.hash})`);
    table.addNode(newPool, this.newNode(newPool, name, parsed.value, packet, now));
    this.logger.info(`[${this.subTag}] ${printable(key)} => new node: ${printable(name)}`);
    return this.accept('new-pool', packet);
  }

  private newNode(
    pool: SubscriptionPool,
    name: string,
    address: BackendAddress,
    p: SubscriptionPacket,
    now: number,
  ): SubscriptionNode {
    return new SubscriptionNode(pool, name, address.proto === 'http', {
      modifier1: p.modifier1,
      modifier2: p.modifier2,
      cores: p.cores,
      load: p.load,
      weight: p.weight,
      notify: p.notify,
      unix: p.unix ?? 0,
      backup: p.backup,
      now,
    });
  }

  /** sni_key + sni_crt enable SNI for the key (ssl-sni-sessions.md §4); refreshes may upgrade (#581) */
  private updateSni(pool: SubscriptionPool, p: SubscriptionPacket): void {
    if (!pool.sni && p.sniKey && p.sniCrt) pool.sni = { key: p.sniKey, crt: p.sniCrt, ca: p.sniCa };
  }

  private unsubscribe(datagram: Buffer, packet: SubscriptionPacket): DatagramOutcome {
    const keyError = this.checkKey(packet);
    if (keyError) return this.reject(keyError, packet, packet.key ?? '', 'invalid key in unsubscribe');
    const key = packet.key as string;
    const pool = this.table.pools.get(key);
    const node = pool && packet.address !== undefined ? pool.findNode(packet.address) : undefined;
    if (!pool || !node) return this.accept('unknown-node', packet); // §2.2.1: nothing to do
    if (this.signing) {
      const now = this.table.clock.now();
      const refused =
        this.unsignedOrStale(packet, key, checkUnsubscribeTime(packet.unix ?? 0, now, this.signTolerance)) ??
        this.badSignature(
          datagram,
          packet,
          key,
          pool.publicKey,
          pool.digest,
          `on unsubscribe (node ${printable(node.name)})`,
        );
      if (refused) return refused;
    }
    this.table.markFailed(node, this.table.ownTag, true);
    return this.accept('unsubscribe', packet);
  }
}
