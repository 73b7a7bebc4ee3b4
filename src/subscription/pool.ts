/**
 * A subscription slot ("pool"): one key, its nodes in insertion order (spec:
 * subscription.md §2.1 — new nodes are appended at the end; the balancers depend on it).
 */
import type { KeyObject } from 'node:crypto';
import { subscriptionKeyHash } from '../protocol/subscription.ts';
import type { SubscriptionNode } from './node.ts';

export interface PoolSni {
  key: string;
  crt: string;
  ca: string | undefined;
}

export class SubscriptionPool {
  readonly key: string;
  /** djb33x(key) mod 65535 (stats `hash`, §10) */
  readonly hash: number;
  /**
   * Copy-on-write: replaced (never mutated) on add/remove. Additions are rare, and an
   * exact-size array literal costs 2 slots for 2 nodes instead of a grown backing store
   * (1M pools × 2 nodes fit in memory); readers must re-read `pool.nodes` after a removal.
   */
  nodes: readonly SubscriptionNode[] = [];
  hits = 0;
  /** how many nodes have `backup > 0` (skips backup-level work when 0) */
  backupNodes = 0;
  /** the public key loaded when the pool was created (§4: never re-read while it lives) */
  readonly publicKey: KeyObject | undefined;
  readonly digest: string | undefined;
  /** the last SNI material accepted for the key (ssl-sni-sessions.md §4): what a cluster primary replicates */
  sni: PoolSni | undefined;

  constructor(key: string, publicKey?: KeyObject, digest?: string) {
    this.key = key;
    this.hash = subscriptionKeyHash(key);
    this.publicKey = publicKey;
    this.digest = digest;
  }

  addNode(node: SubscriptionNode): void {
    this.nodes = this.nodes.length === 0 ? [node] : [...this.nodes, node];
    if (node.backup > 0) this.backupNodes++;
  }

  findNode(name: string): SubscriptionNode | undefined {
    const nodes = this.nodes;
    for (let i = 0; i < nodes.length; i++) if (nodes[i].name === name) return nodes[i];
    return undefined;
  }

  /** Removes a node from the list; returns true when the pool became empty. */
  removeNode(node: SubscriptionNode): boolean {
    const i = this.nodes.indexOf(node);
    if (i >= 0) {
      this.nodes = this.nodes.length === 1 ? [] : this.nodes.filter((n) => n !== node);
      if (node.backup > 0) this.backupNodes--;
    }
    node.removed = true;
    return this.nodes.length === 0;
  }
}
