import type { Socket } from 'node:net';
import type { ClientInfo } from './types.ts';

/**
 * The client's address, read from the socket only when something asks (a log line,
 * iphash): getpeername() per request is measurable on the hot path.
 */
export class PeerInfo implements ClientInfo {
  private readonly socket: Socket;
  private addr: string | undefined;
  private prt: number | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  get address(): string {
    if (this.addr === undefined) this.addr = this.socket.remoteAddress ?? '';
    return this.addr;
  }
  set address(v: string) {
    this.addr = v;
  }

  get port(): number {
    if (this.prt === undefined) this.prt = this.socket.remotePort ?? 0;
    return this.prt;
  }
  set port(v: number) {
    this.prt = v;
  }

  /** Reads the peer now, while the socket is open (a line written after its close needs it). */
  keep(): void {
    if (this.addr === undefined) this.addr = this.socket.remoteAddress ?? '';
    if (this.prt === undefined) this.prt = this.socket.remotePort ?? 0;
  }
}
