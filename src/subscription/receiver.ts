/**
 * Applies subscription datagrams to a table in uWSGI's order (spec: subscription.md
 * §2.1, §2.2), with signature and replay checks (§4), uwrouter's front-door checks (own
 * sockets, key and pool bounds) and per-reason counters. Keys are normalised on receipt
 * (`normalizeHostKey`), so `Example.COM.` and `example.com` are one pool. Never throws.
 */

import type { KeyObject } from 'node:crypto';
import { parseBackendAddress } from '../corerouter/address.ts';
import type { BackendAddress } from '../corerouter/types.ts';
import type { Logger } from '../logger.ts';
import { normalizeHostKey } from '../protocol/host-key.ts';
import {
  decodeSubscription,
  SUBSCRIPTION_MAX_ADDRESS,
  SUBSCRIPTION_MAX_KEY,
  type SubscriptionPacket,
} from '../protocol/subscription.ts';
import { LogLimiter, printable } from './log-limiter.ts';
import { NewNodeLog } from './new-node-log.ts';
import { SubscriptionNode } from './node.ts';
import {
  type AcceptResult,
  type DatagramOutcome,
  newCounters,
  type RejectReason,
  type SubscriptionCounters,
} from './outcomes.ts';
import type { OwnAddresses } from './own-addresses.ts';
import { SubscriptionPool } from './pool.ts';
import { type ReplayVerdict, SignedHistory } from './replay.ts';
import { type PublicKeyStore, verifySubscription } from './signatures.ts';
import type { SubscriptionTable } from './table.ts';

export {
  type AcceptResult,
  type DatagramOutcome,
  REJECT_REASONS,
  type RejectReason,
  type SubscriptionCounters,
} from './outcomes.ts';

export interface SigningOptions {
  store: PublicKeyStore;
  /** `subscriptions-sign-check-tolerance`, default 86400 */
  tolerance?: number;
  /** bound on remembered signed key + node pairs (replay memory); default 65536 */
  historyEntries?: number;
}

export interface SubscriptionReceiverOptions {
  logger?: Logger;
  /** set to enable `subscriptions-sign-check` */
  signing?: SigningOptions;
  /** seconds between two log lines for the same key+reason; default 60 */
  logInterval?: number;
  /** this process's listening sockets: a subscription naming one is refused (`self`) */
  ownAddresses?: OwnAddresses;
  /**
   * the replay memory to keep using (a reload that rebuilds the subscription system hands the
   * old receiver's over, so a packet captured before the reload is still a replay after it)
   */
  history?: SignedHistory;
}

export class SubscriptionReceiver {
  readonly table: SubscriptionTable;
  readonly counters: SubscriptionCounters = newCounters();
  private readonly logger: Logger;
  private readonly signing: SigningOptions | undefined;
  /** accepted signed timestamps per key + node (replay guard, see replay.ts) */
  readonly history: SignedHistory;
  private readonly ownAddresses: OwnAddresses | undefined;
  private readonly limiter: LogLimiter;
  private readonly newNodeLog: NewNodeLog;
  private readonly subTag: string;

  constructor(table: SubscriptionTable, opts: SubscriptionReceiverOptions = {}) {
    this.table = table;
    this.logger = opts.logger ?? table.logger;
    this.signing = opts.signing;
    this.history =
      opts.history ??
      new SignedHistory({
        tolerance: opts.signing?.tolerance ?? 86400,
        maxEntries: opts.signing?.historyEntries,
      });
    this.ownAddresses = opts.ownAddresses;
    this.limiter = new LogLimiter(opts.logInterval ?? 60);
    this.subTag = `uwsgi-subscription for pid ${table.pid}`;
    this.newNodeLog = new NewNodeLog(this.logger, table.clock, this.subTag);
  }

  /** Prints what a burst summary still holds (at shutdown). */
  flushLog(): void {
    this.newNodeLog.flush();
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
    limitBy = key,
  ): DatagramOutcome {
    this.counters.rejected[reason]++;
    // `unsigned` and `no-public-key` are silent in uWSGI (§2.1, §4); we log them rate-limited too
    if (detail !== undefined && this.limiter.allow(limitBy, reason, this.table.clock.now())) {
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

  /**
   * Front-door checks for a node not yet in its pool (beyond uWSGI): not one of this
   * process's own sockets, the pool and key bounds. null = admitted.
   */
  private admit(
    pool: SubscriptionPool | undefined,
    key: string,
    name: string,
    address: BackendAddress,
    packet: SubscriptionPacket,
  ): DatagramOutcome | null {
    const table = this.table;
    if (this.ownAddresses?.isSelf(address)) {
      const why = `node "${printable(name)}" is one of this router's own listening sockets`;
      return this.reject('self', packet, key, why, name);
    }
    if (pool) {
      if (table.maxNodes > 0 && pool.nodes.length >= table.maxNodes) {
        const why = `the pool has ${pool.nodes.length} nodes (--subscription-max-nodes)`;
        return this.reject('too-many-nodes', packet, key, why);
      }
    } else if (table.maxKeys > 0 && table.pools.size >= table.maxKeys) {
      // one line a minute for all keys: a flood of random keys must not fill the log
      const why = `${table.pools.size} keys are subscribed (--subscription-max-keys)`;
      return this.reject('too-many-keys', packet, key, why, '');
    }
    return null;
  }

  private subscribe(datagram: Buffer, packet: SubscriptionPacket): DatagramOutcome {
    const name = packet.address;
    if (name === undefined || name.length === 0 || name.length > SUBSCRIPTION_MAX_ADDRESS) {
      return this.reject('bad-address', packet, packet.key ?? '', undefined); // uWSGI: silent drop
    }
    const keyError = this.checkKey(packet);
    if (keyError)
      return this.reject(keyError, packet, packet.key ?? '', `invalid key (node ${printable(name)})`);
    const key = normalizeHostKey(packet.key as string);
    const parsed = parseBackendAddress(name, packet.proto === 'http' ? 'http' : 'uwsgi');
    // the node re-parses lazily on first pick (memory); here we only validate
    if (!parsed.ok)
      return this.reject('bad-address', packet, key, `"${printable(name)}" is not a socket address`);
    const table = this.table;
    const now = table.clock.now();
    const pool = table.pools.get(key);
    const node = pool?.findNode(name);
    if (!node) {
      const refused = this.admit(pool, key, name, parsed.value, packet);
      if (refused) return refused;
    }
    let publicKey = pool?.publicKey;
    let digest = pool?.digest;
    const signing = this.signing;
    if (signing) {
      // cheap checks before the RSA verify, so replays cost no crypto (same verdict: drop)
      const id = `${key}\0${name}`;
      const unix = packet.unix ?? 0;
      const stale = this.unsignedOrStale(packet, key, this.history.checkSubscribe(id, unix, now));
      if (stale) return stale;
      if (!pool) {
        const found = this.publicKeyFor(packet, key, now);
        if (!found.ok) return found.outcome;
        publicKey = found.key;
        digest = found.digest;
      }
      const bad = this.badSignature(datagram, packet, key, publicKey, digest, `(node ${printable(name)})`);
      if (bad) return bad;
      this.history.acceptSubscribe(id, unix, now);
    }
    if (node) {
      node.refresh(now, packet.cores, packet.load, packet.weight);
      this.updateSni(node.pool, packet);
      table.hooks.onNodeRefreshed?.(node);
      return this.accept('refresh', packet);
    }
    let target = pool;
    if (target) {
      this.updateSni(target, packet);
    } else {
      target = new SubscriptionPool(key, publicKey, digest);
      this.updateSni(target, packet);
      table.addPool(target);
      this.newNodeLog.newPool(printable(key), target.hash);
    }
    table.addNode(target, this.newNode(target, name, parsed.value, packet, now));
    this.newNodeLog.newNode(printable(key), printable(name));
    return this.accept(pool ? 'new-node' : 'new-pool', packet);
  }

  /**
   * The public key for a new pool (§4): `<dir>/<key as sent>.pem`, then, when the key was
   * normalised, `<dir>/<normalised key>.pem` — a node signing `Example.com` with
   * `Example.com.pem` keeps working, and an operator may name key files in lower case.
   */
  private publicKeyFor(
    packet: SubscriptionPacket,
    key: string,
    now: number,
  ): { ok: true; key: KeyObject; digest: string } | { ok: false; outcome: DatagramOutcome } {
    const store = (this.signing as SigningOptions).store;
    const sent = packet.key as string;
    let found = store.lookup(sent, now);
    if (!found.ok && found.reason === 'missing' && key !== sent) found = store.lookup(key, now);
    if (found.ok) return found;
    if (found.reason === 'unreadable') {
      this.counters.rejected['no-public-key']++;
      if (this.limiter.allow(key, 'no-public-key', now)) {
        this.logger.error(`unable to load public key for ${printable(sent)}`);
      }
      return { ok: false, outcome: { ok: false, reason: 'no-public-key', packet } };
    }
    return { ok: false, outcome: this.reject('no-public-key', packet, key, undefined) };
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
      backup: p.backup,
      now,
    });
  }

  /**
   * sni_key + sni_crt name the key's certificate (ssl-sni-sessions.md §4): every accepted
   * packet carrying them goes to the TLS side (a refresh may bring the first one: #581);
   * repeats cost it a map lookup (src/tls/subscription-contexts.ts).
   */
  private updateSni(pool: SubscriptionPool, p: SubscriptionPacket): void {
    if (!p.sniKey || !p.sniCrt) return;
    // the last one accepted: what a cluster primary replicates to its workers' TLS sides
    let sni = pool.sni;
    if (!sni || sni.key !== p.sniKey || sni.crt !== p.sniCrt || sni.ca !== p.sniCa) {
      sni = { key: p.sniKey, crt: p.sniCrt, ca: p.sniCa };
      pool.sni = sni;
    }
    this.table.sni?.attachSubscription(pool.key, sni);
  }

  private unsubscribe(datagram: Buffer, packet: SubscriptionPacket): DatagramOutcome {
    const keyError = this.checkKey(packet);
    if (keyError) return this.reject(keyError, packet, packet.key ?? '', 'invalid key in unsubscribe');
    const key = normalizeHostKey(packet.key as string);
    const pool = this.table.pools.get(key);
    const node = pool && packet.address !== undefined ? pool.findNode(packet.address) : undefined;
    if (!pool || !node) return this.accept('unknown-node', packet); // §2.2.1: nothing to do
    if (this.signing) {
      const now = this.table.clock.now();
      const id = `${key}\0${node.name}`;
      const unix = packet.unix ?? 0;
      const refused =
        this.unsignedOrStale(packet, key, this.history.checkUnsubscribe(id, unix, now)) ??
        this.badSignature(
          datagram,
          packet,
          key,
          pool.publicKey,
          pool.digest,
          `on unsubscribe (node ${printable(node.name)})`,
        );
      if (refused) return refused;
      this.history.acceptUnsubscribe(id, unix, now);
    }
    this.table.markFailed(node, this.table.ownTag, true);
    return this.accept('unsubscribe', packet);
  }
}
