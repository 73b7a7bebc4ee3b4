/**
 * Contracts between corerouter and what plugs into it (routers, the subscription table,
 * the cache). Arrows point one way: routers → corerouter → protocol; subscription and
 * cache feed corerouter only through `KeyMapper` and `NodeLease`.
 */

/** Where a node listens. `name` is the address text as configured or announced. */
export type BackendAddress =
  | { kind: 'tcp'; host: string; port: number; name: string; proto: 'uwsgi' | 'http' }
  | { kind: 'unix'; path: string; name: string; proto: 'uwsgi' | 'http' };

/** The client as the router knows it (for iphash, logs). */
export interface ClientInfo {
  address: string;
  port: number;
}

/**
 * One pick of a node for one connection attempt. The mapper that produced it learns
 * what happened through exactly one of `connected`/`failed`, then `release` when a
 * connected backend socket closes.
 */
export interface NodeLease {
  readonly address: BackendAddress;
  /** modifier1/2 written into the forwarded uwsgi header (spec: uwsgi-protocol.md §7.5) */
  readonly modifier1: number;
  readonly modifier2: number;
  /** the connect succeeded (counts `requests`/`hits`) */
  connected(): void;
  /** the connect failed: the mapper marks the node failed (logs `KEY => marking ADDR as failed`) */
  failed(reason: string): void;
  /** the backend connection closed; tx = bytes read from the node, rx = bytes written to it */
  release(tx: number, rx: number): void;
}

export type MapperKind = 'cache' | 'pattern' | 'subscription' | 'base' | 'code-string' | 'socket' | 'static';

/** One source of key → node; exactly one is active per router (spec: corerouter.md §3). */
export interface KeyMapper {
  readonly kind: MapperKind;
  /** null = this key maps to no node now */
  pick(key: string, client: ClientInfo): NodeLease | null;
  /**
   * Whether the key is routable at all, even if no node is live right now. Lets the HTTP
   * router answer 404 (never-known key) apart from 503 (known key, no live node). Does not
   * count as a lookup (no hits). Mappers without it are treated as knowing every key.
   */
  knows?(key: string): boolean;
}

/** Pluggable sections of the stats JSON (subscriptions, static nodes, …). */
export interface StatsSection {
  /** appended to the router's stats document under this name */
  readonly statsName: string;
  statsJson(): unknown;
}

/** Learns when the node table goes from empty to non-empty and back (cheap mode). */
export interface NodeTableEvents {
  onFirstNode(cb: () => void): void;
  onLastNodeGone(cb: () => void): void;
  /** true when the table holds no node at all */
  isEmpty(): boolean;
}
