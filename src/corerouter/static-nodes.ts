/**
 * The `X-to` mapper: a static list in round robin; a node whose connect failed is skipped
 * for `X-gracetime` seconds (spec: corerouter.md §3, §5).
 */
import type { Logger } from '../logger.ts';
import type { BackendAddress, ClientInfo, KeyMapper, NodeLease, StatsSection } from './types.ts';

export interface StaticNode {
  readonly address: BackendAddress;
  /** successful connects */
  hits: number;
  /** epoch seconds of the last failure; 0 = healthy */
  grace: number;
}

class StaticLease implements NodeLease {
  readonly address: BackendAddress;
  readonly modifier1 = 0;
  readonly modifier2 = 0;
  private readonly node: StaticNode;
  private readonly mapper: StaticMapper;
  private readonly key: string;

  constructor(node: StaticNode, mapper: StaticMapper, key: string) {
    this.node = node;
    this.address = node.address;
    this.mapper = mapper;
    this.key = key;
  }

  connected(): void {
    this.node.hits++;
    this.node.grace = 0;
  }

  failed(): void {
    this.node.grace = this.mapper.now();
    this.mapper.log.info(
      `[uwsgi-${this.mapper.routerName}] ${this.key} => marking ${this.address.name} as failed`,
    );
  }

  release(): void {}
}

export class StaticMapper implements KeyMapper, StatsSection {
  readonly kind = 'static' as const;
  readonly statsName = 'static_nodes';
  readonly nodes: StaticNode[];
  readonly routerName: string;
  readonly log: Logger;
  private readonly gracetime: number;
  private next = 0;
  /** injectable clock, epoch seconds */
  now: () => number = () => Math.floor(Date.now() / 1000);

  constructor(addresses: readonly BackendAddress[], gracetime: number, routerName: string, log: Logger) {
    this.nodes = addresses.map((address) => ({ address, hits: 0, grace: 0 }));
    this.gracetime = gracetime;
    this.routerName = routerName;
    this.log = log;
  }

  pick(key: string, _client: ClientInfo): NodeLease | null {
    const n = this.nodes.length;
    if (n === 0) return null;
    const now = this.now();
    for (let i = 0; i < n; i++) {
      const node = this.nodes[this.next];
      this.next = (this.next + 1) % n;
      // spec: a dead node is skipped until gracetime seconds after its failure
      if (node.grace !== 0 && now - node.grace < this.gracetime) continue;
      return new StaticLease(node, this, key);
    }
    return null;
  }

  /** a static list routes every key (all nodes dead = known key, no live node) */
  knows(_key: string): boolean {
    return this.nodes.length > 0;
  }

  statsJson(): unknown {
    return this.nodes.map((n) => ({ name: n.address.name, hits: n.hits, grace: n.grace }));
  }
}
