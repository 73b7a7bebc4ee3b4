/**
 * One request's way to a node: the corerouter's mapping, retries and fallbacks
 * (BackendAttempt, spec: corerouter.md §5), an idle pooled connection for an HTTP node
 * (http-node.ts) unless a stale one just failed, and the status a failure to find or reach
 * a node maps to (404 unknown key, 503 no live node, 502/504 connect failures).
 */
import type { Socket } from 'node:net';
import { BackendAttempt, type ConnectCallbacks, type GiveUpCode } from '../corerouter/connect.ts';
import type { PeerInfo } from '../corerouter/peer-info.ts';
import type { CoreRouter } from '../corerouter/router.ts';
import type { NodeLease } from '../corerouter/types.ts';
import { type RouterErrorStatus, statusForError } from './error-response.ts';
import type { HttpRouterShared } from './router-state.ts';

export interface RouteOwner {
  readonly core: CoreRouter;
  readonly shared: HttpRouterShared;
  readonly info: PeerInfo;
  /** a node connection for the request; `reused`: an idle pooled HTTP-node connection */
  routed(backend: Socket, lease: NodeLease, reused: boolean): void;
  fail(status: RouterErrorStatus, code: string, why: string): void;
}

export class NodeRoute implements ConnectCallbacks {
  private readonly owner: RouteOwner;
  private attempt: BackendAttempt | null = null;
  /** the attempt must not take a pooled HTTP-node connection (a stale one failed) */
  private freshOnly = false;
  private reused = false;
  private key = '';

  constructor(owner: RouteOwner) {
    this.owner = owner;
  }

  /** Finds and connects a node for `key`; `fresh`: never an idle pooled connection. */
  start(key: string, fresh: boolean): void {
    this.key = key;
    this.freshOnly = fresh;
    this.reused = false;
    const o = this.owner;
    this.attempt = new BackendAttempt(o.core, key, o.info, this, o.shared.sweep);
    this.attempt.start();
  }

  /** The client went away: stop connecting (the node is not at fault). */
  cancel(): void {
    if (this.attempt) {
      this.attempt.cancel();
      this.attempt = null;
    }
  }

  reuse(lease: NodeLease): Socket | null {
    if (lease.address.proto !== 'http' || this.freshOnly) return null;
    const s = this.owner.shared.pool.take(lease.address);
    if (s) this.reused = true;
    return s;
  }

  connected(backend: Socket, lease: NodeLease): void {
    this.attempt = null;
    this.owner.routed(backend, lease, this.reused);
  }

  gaveUp(code: GiveUpCode, detail: string): void {
    this.attempt = null;
    const o = this.owner;
    if (code === 'UWR_ERR_NO_NODE') {
      // 404: the key was never routable here; 503: it is, but no node is live now
      const m = o.core.mapper;
      const known = m !== null && (m.knows ? m.knows(this.key) : true);
      if (known) o.fail(503, 'UWR_ERR_NO_NODE', `${detail}: no live node`);
      else o.fail(404, 'UWR_ERR_NO_KEY', `${detail}: unknown key`);
      return;
    }
    o.fail(statusForError(code), code, detail);
  }
}
