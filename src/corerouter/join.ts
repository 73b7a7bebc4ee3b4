/**
 * The join of a client and a backend socket: bytes both ways with backpressure (a side
 * whose peer's buffer is full is paused until `drain`), clean teardown on any end, error
 * or close. spec: corerouter.md §4 — the session ends when the node closes; a client FIN
 * is passed on to the node (beyond uWSGI, which drops the session on a client half-close).
 */
import type { Socket } from 'node:net';

export interface JoinHooks {
  /** both sockets are gone; tx = bytes read from the backend, rx = bytes written to it */
  closed(tx: number, rx: number): void;
}

export class Join {
  readonly client: Socket;
  readonly backend: Socket;
  tx = 0;
  rx = 0;
  private readonly hooks: JoinHooks;
  private finished = false;
  private clientEnding = false;
  /** 'drain' listeners are added on first backpressure only (most sessions never see it) */
  private drainHooked = false;
  /** end the client with end() even when nothing is left to flush (a TLS close_notify) */
  private readonly endClient: boolean;

  /**
   * `endClient`: when the node ends, always end the client gracefully (a TLS client gets its
   * close_notify and can tell a complete response from a cut one) instead of closing at once.
   */
  constructor(client: Socket, backend: Socket, hooks: JoinHooks, endClient = false) {
    this.client = client;
    this.backend = backend;
    this.hooks = hooks;
    this.endClient = endClient;
    client.on('data', this.onClientData);
    backend.on('data', this.onBackendData);
    client.on('end', this.onClientEnd);
    backend.on('end', this.onBackendEnd);
    client.on('error', this.onError);
    backend.on('error', this.onError);
    client.on('close', this.onClientClose);
    backend.on('close', this.onBackendClose);
    if (client.isPaused()) client.resume();
  }

  /** Ends both sides now (timeouts, shutdown). */
  destroy(): void {
    this.client.destroy();
    this.backend.destroy();
    this.finish();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    this.rx += chunk.length;
    if (!this.backend.write(chunk)) {
      this.client.pause();
      this.hookDrain();
    }
  };

  private readonly onBackendData = (chunk: Buffer): void => {
    this.tx += chunk.length;
    if (!this.client.write(chunk)) {
      this.backend.pause();
      this.hookDrain();
    }
  };

  private hookDrain(): void {
    if (this.drainHooked) return;
    this.drainHooked = true;
    this.client.on('drain', this.onClientDrain);
    this.backend.on('drain', this.onBackendDrain);
  }

  private readonly onClientDrain = (): void => {
    this.backend.resume();
  };

  private readonly onBackendDrain = (): void => {
    this.client.resume();
  };

  private readonly onClientEnd = (): void => {
    // pass the half-close on; the node may still answer
    this.backend.end();
  };

  private readonly onBackendEnd = (): void => {
    // the node finished its response: flush it to the client, then the session is over
    this.clientEnding = true;
    this.backend.destroy();
    // nothing left to flush: close at once (one syscall, as uWSGI does) instead of
    // shutdown() + close(); a RST cannot happen since the client's bytes were all read
    if (!this.endClient && this.client.writableLength === 0 && this.client.readableLength === 0)
      this.client.destroy();
    else {
      this.client.on('finish', this.onClientFinish);
      this.client.end();
    }
  };

  private readonly onClientFinish = (): void => {
    if (this.clientEnding) this.client.destroy();
  };

  private readonly onError = (): void => {
    this.client.destroy();
    this.backend.destroy();
  };

  private readonly onBackendClose = (): void => {
    // a node that died mid-response takes the client with it; a clean end is flushed first
    if (!this.clientEnding) this.client.destroy();
    if (this.client.destroyed) this.finish();
  };

  private readonly onClientClose = (): void => {
    this.backend.destroy();
    this.finish();
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    // onError stays attached to both sockets: a late error after teardown is still handled
    this.hooks.closed(this.tx, this.rx);
  }
}
