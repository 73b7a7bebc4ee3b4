/**
 * Node selection algorithms (spec: subscription.md §8), reproduced step by step because
 * their quirks decide the visible request order. The table runs pass 1 (liveness + `first`
 * on each node in order) and, when no node was accepted, `second` over the whole list.
 * Only nodes of the current backup level take part (2.1 `backup`: level 0 first).
 */
import type { SubscriptionNode } from './node.ts';

export type SubscriptionAlgo = 'wrr' | 'lrc' | 'wlrc' | 'iphash';
export const SUBSCRIPTION_ALGOS: readonly SubscriptionAlgo[] = ['wrr', 'lrc', 'wlrc', 'iphash'];

export interface Balancer {
  /** pass 1: accept this (alive, right-level) node? */
  first(node: SubscriptionNode): boolean;
  /** pass 2: choose among `nodes` (dead ones have deathMark set) of backup `level` */
  second(nodes: readonly SubscriptionNode[], level: number, clientAddress: string): SubscriptionNode | null;
}

const wrr: Balancer = {
  first(node) {
    if (node.deathMark === 0 && node.wrr > 0) {
      node.wrr--;
      return true;
    }
    return false;
  },
  second(nodes, level) {
    // reset credits to weight div min(weight), then take the LAST alive node
    let min = 0;
    for (const n of nodes) {
      if (n.deathMark !== 0 || n.backup !== level) continue;
      if (min === 0 || n.weight < min) min = n.weight;
    }
    if (min === 0) return null;
    let last: SubscriptionNode | null = null;
    for (const n of nodes) {
      if (n.deathMark !== 0 || n.backup !== level) continue;
      n.wrr = Math.floor(n.weight / min);
      last = n;
    }
    if (last) last.wrr--;
    return last;
  },
};

const never = (): boolean => false;

/**
 * lrc/wlrc: 0 doubles as "unset" for the best score, and a zero-score choice stops the
 * scan unless the next node (alive or not) has ≤ score and ≤ last_requests — which makes
 * sequential traffic a reverse round robin (C, B, A, …).
 */
function leastScore(weighted: boolean): Balancer {
  const score = (n: SubscriptionNode): number => (weighted ? n.ref / n.weight : n.ref);
  return {
    first: never,
    second(nodes, level) {
      let chosen: SubscriptionNode | null = null;
      let min = 0;
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i];
        if (n.deathMark !== 0 || n.backup !== level) continue;
        const s = score(n);
        if (min === 0 || s < min) {
          min = s;
          chosen = n;
          const next = i + 1 < nodes.length ? nodes[i + 1] : undefined;
          if (min === 0 && !(next && score(next) <= s && next.lastRequests <= n.lastRequests)) break;
        }
      }
      return chosen;
    },
  };
}

/** 32-bit hash of a client address: the IPv4 value, else djb33x of the text (2.1 iphash). */
export function clientHash(address: string): number {
  let s = address;
  if (s.startsWith('::ffff:')) s = s.slice(7);
  let v = 0;
  let octet = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      v = v * 256 + octet;
      octet = 0;
      dots++;
    } else if (c >= 48 && c <= 57) octet = octet * 10 + (c - 48);
    else {
      dots = -1;
      break;
    }
  }
  if (dots === 3) return v * 256 + octet;
  let h = 5381;
  for (let i = 0; i < address.length; i++) h = (Math.imul(h, 33) ^ address.charCodeAt(i)) >>> 0;
  return h;
}

const iphash: Balancer = {
  first: never,
  second(nodes, level, clientAddress) {
    let alive = 0;
    for (const n of nodes) if (n.deathMark === 0 && n.backup === level) alive++;
    if (alive === 0) return null;
    let idx = clientHash(clientAddress) % alive;
    for (const n of nodes) {
      if (n.deathMark !== 0 || n.backup !== level) continue;
      if (idx-- === 0) return n;
    }
    return null;
  },
};

export function createBalancer(algo: SubscriptionAlgo): Balancer {
  switch (algo) {
    case 'wrr':
      return wrr;
    case 'lrc':
      return leastScore(false);
    case 'wlrc':
      return leastScore(true);
    case 'iphash':
      return iphash;
  }
}
