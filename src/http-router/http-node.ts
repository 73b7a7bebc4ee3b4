/**
 * Idle keep-alive connections to HTTP nodes (addresses `http://host:port`, or subscriptions
 * announced with `proto=http`), reused across requests and client connections. uWSGI 2.0
 * only speaks uwsgi to nodes (one connection per request); HTTP nodes answer many requests
 * per connection, and reconnecting for each would cost a handshake per request.
 *
 * Bounded: at most `maxPerNode` idle sockets per node address, each closed after `idleMs`
 * idle, or at once if the node closes it, errors, or sends unsolicited bytes.
 */
import type { Socket } from 'node:net';
import type { BackendAddress } from '../corerouter/types.ts';

export class HttpNodePool {
  private readonly idle = new Map<string, Socket[]>();
  /** socket → its node's name, for idle sockets only */
  private readonly owner = new Map<Socket, string>();
  private readonly maxPerNode: number;
  private readonly idleMs: number;
  private readonly onIdleEvent: (this: Socket) => void;
  /** requests sent on a reused node connection (stats) */
  reuses = 0;

  constructor(maxPerNode: number, idleMs: number) {
    this.maxPerNode = maxPerNode;
    this.idleMs = idleMs;
    const pool = this;
    // one handler for every idle socket: any event while idle makes it unusable
    this.onIdleEvent = function (this: Socket): void {
      pool.evict(this);
    };
  }

  /** idle connections held now */
  get size(): number {
    return this.owner.size;
  }

  /** An idle connection to `address`, or null. Most recently used first (warmest). */
  take(address: BackendAddress): Socket | null {
    const list = this.idle.get(address.name);
    if (!list) return null;
    let s = list.pop();
    while (s) {
      this.detach(s);
      if (!s.destroyed && s.writable && s.readable) {
        this.reuses++;
        return s;
      }
      s.destroy();
      s = list.pop();
    }
    return null;
  }

  /** Keeps `socket` for the next request to `address` (or closes it when the pool is full). */
  give(address: BackendAddress, socket: Socket): void {
    if (socket.destroyed || !socket.writable || !socket.readable) {
      socket.destroy();
      return;
    }
    let list = this.idle.get(address.name);
    if (!list) {
      list = [];
      this.idle.set(address.name, list);
    }
    if (list.length >= this.maxPerNode) {
      socket.destroy();
      return;
    }
    list.push(socket);
    this.owner.set(socket, address.name);
    socket.on('data', this.onIdleEvent);
    socket.on('end', this.onIdleEvent);
    socket.on('close', this.onIdleEvent);
    socket.on('error', this.onIdleEvent);
    socket.on('timeout', this.onIdleEvent);
    socket.setTimeout(this.idleMs);
    // an idle pool must not keep the process alive
    socket.unref();
    if (socket.isPaused()) socket.resume();
  }

  /** Closes every idle connection (router shutdown). */
  closeAll(): void {
    for (const s of [...this.owner.keys()]) this.evict(s);
    this.idle.clear();
  }

  private evict(s: Socket): void {
    const name = this.owner.get(s);
    if (name === undefined) return;
    const list = this.idle.get(name);
    if (list) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.idle.delete(name);
    }
    this.detach(s);
    s.on('error', noop);
    s.destroy();
  }

  private detach(s: Socket): void {
    this.owner.delete(s);
    s.removeListener('data', this.onIdleEvent);
    s.removeListener('end', this.onIdleEvent);
    s.removeListener('close', this.onIdleEvent);
    s.removeListener('error', this.onIdleEvent);
    s.removeListener('timeout', this.onIdleEvent);
    s.setTimeout(0);
    s.ref();
  }
}

const noop = (): void => {};
