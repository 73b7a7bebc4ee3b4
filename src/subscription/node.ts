/**
 * One node of a subscription pool, with uWSGI's fields (spec: subscription.md §2.1, §3;
 * stats field names in corerouter.md §8) plus 2.1's `backup` and `proto`.
 */

import { parseBackendAddress } from '../corerouter/address.ts';
import type { BackendAddress } from '../corerouter/types.ts';
import type { SubscriptionPool } from './pool.ts';

export class SubscriptionNode {
  /** the announced address, verbatim (stats `name`) */
  readonly name: string;
  /** `http` when announced with `proto=http` (or an `http://` address) */
  readonly http: boolean;
  private parsed: BackendAddress | undefined;
  readonly pool: SubscriptionPool;
  // Not updated by refreshes (§2.1): modifier1/2, notify. (uWSGI's creation-time unix is
  // replaced by the receiver's SignedHistory, which also outlives the node: replay.ts.)
  readonly modifier1: number;
  readonly modifier2: number;
  readonly notify: string | undefined;
  readonly backup: number;
  lastCheck: number;
  requests = 0;
  lastRequests = 0;
  tx = 0;
  rx = 0;
  cores: number;
  load: number;
  weight: number;
  wrr = 0;
  ref = 0;
  failcnt = 0;
  deathMark = 0;
  /** set once the node left its pool (leases still holding it become no-ops) */
  removed = false;

  constructor(
    pool: SubscriptionPool,
    name: string,
    http: boolean,
    init: {
      modifier1: number;
      modifier2: number;
      cores: number;
      load: number;
      weight: number;
      notify: string | undefined;
      backup: number;
      now: number;
    },
  ) {
    this.pool = pool;
    this.name = name;
    this.http = http;
    this.modifier1 = init.modifier1 & 0xff;
    this.modifier2 = init.modifier2 & 0xff;
    this.notify = init.notify;
    this.backup = init.backup;
    this.lastCheck = init.now;
    this.cores = init.cores;
    this.load = init.load;
    this.weight = init.weight === 0 ? 1 : init.weight;
  }

  /**
   * The connectable address, parsed on first use: the receiver validated the text already,
   * and not keeping a parsed object per idle node saves ~90 bytes × nodes (1M pools).
   */
  get address(): BackendAddress {
    if (this.parsed === undefined) {
      const r = parseBackendAddress(this.name, this.http ? 'http' : 'uwsgi');
      this.parsed = r.ok
        ? r.value
        : { kind: 'unix', path: this.name, name: this.name, proto: this.http ? 'http' : 'uwsgi' };
    }
    return this.parsed;
  }

  /** An announce for this node (spec: subscription.md §2.1 "found (refresh)"). */
  refresh(now: number, cores: number, load: number, weight: number): void {
    this.deathMark = 0;
    this.lastCheck = now;
    this.cores = cores;
    this.load = load;
    this.weight = weight === 0 ? 1 : weight;
    this.lastRequests = 0;
  }

  /** strict `now − last_check > tolerance` (spec: subscription.md §3) */
  isExpired(now: number, tolerance: number): boolean {
    return now - this.lastCheck > tolerance;
  }

  /** uWSGI's stats object, fields in uWSGI's order (corerouter.md §8); no credentials in Node → pid/uid/gid 0 */
  toStats(): Record<string, number | string> {
    return {
      name: this.name,
      modifier1: this.modifier1,
      modifier2: this.modifier2,
      last_check: this.lastCheck,
      pid: 0,
      uid: 0,
      gid: 0,
      requests: this.requests,
      last_requests: this.lastRequests,
      tx: this.tx,
      rx: this.rx,
      cores: this.cores,
      load: this.load,
      weight: this.weight,
      wrr: this.wrr,
      ref: this.ref,
      failcnt: this.failcnt,
      death_mark: this.deathMark,
    };
  }
}
