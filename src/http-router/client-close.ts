/**
 * How an HTTP client connection ends once the router is done with it: at once when
 * nothing is left to flush or read (one close, no shutdown() first, as uWSGI), else after
 * the last write is out — over TLS always after a close_notify (spec: http-router.md §9,
 * "TLS shutdown is attempted before closing": the client can tell an answer cut by an
 * attacker from a complete one); a fixed answer (error page, redirect) lingers for the client to
 * read it and close first, so unread request bytes do not turn the router's close into a
 * reset that loses the answer.
 */
import type { Socket } from 'node:net';
import type { ClientTimer } from './client-timer.ts';

/** How long an answer waits for the client to close before the socket is dropped. */
export const LINGER_MS = 2000;

export class ClientClose {
  private readonly client: Socket;
  private readonly timer: ClientTimer;
  private readonly tls: boolean;

  constructor(client: Socket, timer: ClientTimer, tls = false) {
    this.client = client;
    this.timer = timer;
    this.tls = tls;
  }

  /** The response went out: close. */
  afterResponse(): void {
    const c = this.client;
    if (c.destroyed) return;
    if (!this.tls && c.writableLength === 0 && c.readableLength === 0) {
      c.destroy();
      return;
    }
    c.once('finish', this.destroy);
    c.end();
  }

  /** Sends `response` (may be empty), then lingers and closes. */
  answer(response: Buffer): void {
    this.timer.disarm();
    const c = this.client;
    if (c.destroyed) return;
    c.once('finish', this.linger);
    c.end(response);
  }

  private readonly linger = (): void => {
    // the answer is out: the client's remaining bytes are read and dropped meanwhile
    this.timer.after(LINGER_MS, this.destroy);
    this.client.resume();
  };

  private readonly destroy = (): void => {
    this.client.destroy();
  };
}
