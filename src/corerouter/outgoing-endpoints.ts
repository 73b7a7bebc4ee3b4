/**
 * Self-connection detection (issue: a node address naming the router's own listener made
 * one request open connections to itself until the file descriptors ran out). A router
 * remembers the TCP endpoints (local ip:port → remote ip:port) of its open node
 * connections; an accepted client whose endpoints are exactly those mirrored is the
 * router talking to itself. The whole 4-tuple is compared, so another process that
 * happens to use the same ephemeral port towards a different destination never matches.
 * The check belongs at the client's first byte, not at accept: the connecting side
 * records its endpoints at `connect`, before it writes, while an accept may be seen first.
 * Only a connection to a port this router listens on can come back to it: others are not
 * tracked, which spares two syscalls (getsockname, getpeername) per node connection.
 * Cost otherwise: one string and one Set insert per node connection, one Set lookup per client.
 * UNIX-socket connections have no ports and are not tracked.
 */
import type { Socket } from 'node:net';

const ENDPOINTS = Symbol('uwrouter.outgoingEndpoints');
type Tracked = Socket & { [ENDPOINTS]?: string };

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`, what a dual-stack listener reports) as IPv4. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && address.indexOf('.') > 0 ? address.slice(7) : address;
}

function endpointsKey(fromAddr: string, fromPort: number, toAddr: string, toPort: number): string {
  return `${plain(fromAddr)} ${fromPort} ${plain(toAddr)} ${toPort}`;
}

export class OutgoingEndpoints {
  private readonly open = new Set<string>();
  /** one 'close' listener for every tracked socket (the socket is `this`) */
  private readonly forget: (this: Socket) => void;

  /** whether this router listens on a TCP port (a node on another port cannot be itself) */
  private readonly listensOn: (port: number) => boolean;

  constructor(listensOn: (port: number) => boolean = () => true) {
    this.listensOn = listensOn;
    const open = this.open;
    this.forget = function (this: Socket): void {
      const key = (this as Tracked)[ENDPOINTS];
      if (key !== undefined) open.delete(key);
    };
  }

  /** node connections tracked now */
  get size(): number {
    return this.open.size;
  }

  /** A node connection to `port` just connected: remember it while it is open. */
  add(socket: Socket, port: number): void {
    if (!this.listensOn(port)) return;
    const { localAddress, localPort, remoteAddress, remotePort } = socket;
    if (!localAddress || !localPort || !remoteAddress || !remotePort) return;
    const key = endpointsKey(localAddress, localPort, remoteAddress, remotePort);
    (socket as Tracked)[ENDPOINTS] = key;
    this.open.add(key);
    socket.on('close', this.forget);
  }

  /** Is this accepted client one of our own node connections (seen from the other end)? */
  isOwn(client: Socket): boolean {
    if (this.open.size === 0) return false;
    const { localAddress, localPort, remoteAddress, remotePort } = client;
    if (!localAddress || !localPort || !remoteAddress || !remotePort) return false;
    return this.open.has(endpointsKey(remoteAddress, remotePort, localAddress, localPort));
  }
}
