/**
 * uWSGI's "new pool" / "new node" lines (spec: subscription.md §2.1), kept exact while they
 * are few, summarised during a burst. A fleet (re)announcing 20,000 keys at once wrote two
 * synchronous lines per key on the packet path; while the log pipe was full the server read
 * nothing and the kernel dropped most of the burst. Past `perSecond` lines in one second the
 * rest are counted and one summary line per second says how many were not printed.
 */
import type { Logger } from '../logger.ts';
import type { SubscriptionClock } from './table.ts';

export class NewNodeLog {
  private readonly logger: Logger;
  private readonly clock: SubscriptionClock;
  private readonly tag: string;
  private readonly perSecond: number;
  private second = -1;
  private inSecond = 0;
  private pools = 0;
  private nodes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, clock: SubscriptionClock, tag: string, perSecond = 20) {
    this.logger = logger;
    this.clock = clock;
    this.tag = tag;
    this.perSecond = perSecond;
  }

  /** `new pool: K (hash key: H)` */
  newPool(key: string, hash: number): void {
    if (this.allow()) this.logger.info(`[${this.tag}] new pool: ${key} (hash key: ${hash})`);
    else this.pools++;
  }

  /** `K => new node: A` */
  newNode(key: string, name: string): void {
    if (this.allow()) this.logger.info(`[${this.tag}] ${key} => new node: ${name}`);
    else this.nodes++;
  }

  private allow(): boolean {
    const now = this.clock.now();
    if (now !== this.second) {
      this.flush();
      this.second = now;
      this.inSecond = 0;
    }
    if (this.inSecond < this.perSecond) {
      this.inSecond++;
      return true;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), 1000);
      this.timer.unref();
    }
    return false;
  }

  /** Prints the summary of what was not printed, if anything. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pools === 0 && this.nodes === 0) return;
    this.logger.info(
      `[${this.tag}] ${this.pools} more new pools and ${this.nodes} more new nodes (burst: lines past ${this.perSecond}/s not printed one by one)`,
    );
    this.pools = 0;
    this.nodes = 0;
  }
}
