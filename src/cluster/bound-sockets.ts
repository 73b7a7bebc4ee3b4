/**
 * The primary's listening sockets: bound here (before any privilege drop), passed to every
 * worker as a native handle, kept across reloads while their address stays in the
 * configuration. The primary only binds: the first worker's `listen()` makes the socket
 * listen, and the primary never polls it, so it never accepts a connection itself (a
 * `net.Server` here would take its share of connections). This is how Node's own cluster
 * module shares a socket without round robin (its SharedHandle); it uses the same
 * `net._createServerHandle`.
 *
 * Once listening, a socket stays in the listening state while any process holds it: while
 * no worker runs (a respawn, the moment of a reload) connections wait in its backlog.
 * spec: corerouter.md §1 (sockets bound before forking, shared by every process), §6
 */
import { lookup } from 'node:dns/promises';
import { unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { boundName, type ListenAddress, parseListenAddress } from '../corerouter/address.ts';
import { type ListenOptions, removeStaleSocket, resolveShared } from '../corerouter/listener.ts';
import { ListenError } from '../errors.ts';
import { applyUnixSocketSettings, withNarrowedUmask } from '../process/unix-socket-mode.ts';

/** A native TCP or Pipe handle (what `child_process` passes with `send(message, handle)`). */
export interface NativeServerHandle {
  readonly fd: number;
  getsockname?(out: { address?: string; port?: number; family?: string }): number;
  close(cb?: () => void): void;
}

type CreateServerHandle = (
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => NativeServerHandle | number;

const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })
  ._createServerHandle;

const UV_TCP_REUSEPORT = 2;

export interface BoundSocket {
  /** the resolved address text (`=N` replaced): the same key is the same socket on reload */
  readonly key: string;
  /** the getsockname form (`:PORT`, `IP:PORT`, the path) for logs, stats and SERVER_PORT */
  readonly name: string;
  /** the fd of the primary's copy (-1 while released) */
  readonly fd: number;
  /** the primary's copy; null while released (cheap mode on a shared port) */
  readonly handle: NativeServerHandle | null;
  /**
   * a TCP socket bound with SO_REUSEPORT (`--reuse-port`): in cheap mode the primary closes
   * its copy so that the port's connections go to the other processes sharing it
   * (spec: corerouter.md §7), and binds it again on the first node
   */
  readonly sharesPort: boolean;
  /**
   * Closes the primary's copy for now (only a port-sharing socket): once the workers have
   * closed theirs too the socket is gone, and the kernel gives its share to the others.
   */
  release(): void;
  /** Binds the address again (SO_REUSEPORT, not listening: a worker listens); throws ListenError. */
  rebind(): void;
  /** closes the primary's copy; removes the UNIX socket file (workers must have let go) */
  close(): void;
}

/** The key two configurations share a socket by: the address after `=N` resolution. */
export function socketKey(text: string, opts: ListenOptions): string {
  const parsed = parseListenAddress(text);
  if (!parsed.ok) throw new ListenError(parsed.error);
  const a = resolveShared(parsed.value, opts);
  if (a.kind === 'tcp') return `tcp:${a.host}:${a.port}`;
  if (a.kind === 'unix') return `unix:${a.path}`;
  return a.kind === 'fd' ? `fd:${a.fd}` : a.text;
}

function bindError(text: string, err: number): ListenError {
  let why: string;
  try {
    why = getSystemErrorName(err);
  } catch {
    why = `error ${err}`;
  }
  const hint =
    why === 'EADDRINUSE' ? ': address already in use' : why === 'EACCES' ? ': permission denied' : '';
  return new ListenError(`cannot listen on "${text}": ${why}${hint}`);
}

async function createFor(
  a: ListenAddress,
  text: string,
  opts: ListenOptions,
): Promise<NativeServerHandle | number> {
  if (a.kind === 'unix') {
    await removeStaleSocket(a.path);
    // the bind is synchronous: the file is created under the narrowed umask (--chmod-socket)
    const mode = a.path.startsWith('\0') ? undefined : opts.unixSocket?.mode;
    return withNarrowedUmask(mode, () => createServerHandle(a.path, -1, -1));
  }
  if (a.kind === 'fd') return createServerHandle(null, -1, -1, a.fd);
  if (a.kind !== 'tcp') throw new ListenError(`cannot listen on "${text}": unexpected address`);
  let host = a.host;
  if (net.isIP(host) === 0) {
    try {
      host = (await lookup(host)).address;
    } catch (e) {
      throw new ListenError(`cannot listen on "${text}": ${(e as Error).message}`, { cause: e });
    }
  }
  // libuv's UV_TCP_REUSEPORT: SO_REUSEPORT before the bind (what net's `reusePort` sets)
  return createServerHandle(host, a.port, net.isIP(host), undefined, opts.reusePort ? UV_TCP_REUSEPORT : 0);
}

function boundHost(h: NativeServerHandle): string {
  const out: { address?: string } = {};
  h.getsockname?.(out);
  return out.address ?? '';
}

function boundPort(h: NativeServerHandle): number {
  const out: { port?: number } = {};
  h.getsockname?.(out);
  return out.port ?? 0;
}

/** Binds `text` (not listening yet: the first worker listens). Throws ListenError. */
export async function bindSocket(text: string, opts: ListenOptions): Promise<BoundSocket> {
  const parsed = parseListenAddress(text);
  if (!parsed.ok) throw new ListenError(parsed.error);
  const a = resolveShared(parsed.value, opts);
  const h = await createFor(a, text, opts);
  if (typeof h === 'number') throw bindError(text, h);
  let name: string;
  if (a.kind === 'unix') {
    name = boundName(a.path);
    const settings = opts.unixSocket;
    if (settings && !a.path.startsWith('\0')) {
      try {
        applyUnixSocketSettings(a.path, settings);
      } catch (err) {
        h.close();
        try {
          unlinkSync(a.path);
        } catch {
          // already gone
        }
        throw new ListenError(`cannot listen on "${text}": ${(err as Error).message}`, { cause: err });
      }
    }
  } else {
    // libuv defers a TCP bind's EADDRINUSE to the next getsockname/listen: ask now, or the
    // error would stay with this handle and a worker's listen() would bind a random port
    const out: { address?: string; port?: number } = {};
    const err = h.getsockname?.(out) ?? 0;
    if (err !== 0) {
      h.close();
      throw bindError(text, err);
    }
    name =
      out.address !== undefined && out.port !== undefined
        ? boundName({ address: out.address, port: out.port })
        : text;
  }
  const unixFile = a.kind === 'unix' && !a.path.startsWith('\0') ? a.path : undefined;
  let closed = false;
  let handle: NativeServerHandle | null = h;
  // the address a port-sharing socket binds again: the resolved host, the port it got
  const again =
    a.kind === 'tcp' && opts.reusePort === true ? { host: boundHost(h), port: boundPort(h) } : null;
  return {
    key: socketKey(text, opts),
    name,
    get fd(): number {
      return handle?.fd ?? -1;
    },
    get handle(): NativeServerHandle | null {
      return handle;
    },
    sharesPort: again !== null,
    release(): void {
      if (!again || !handle) return;
      handle.close();
      handle = null;
    },
    rebind(): void {
      if (closed || handle || !again) return;
      const r = createServerHandle(again.host, again.port, net.isIP(again.host), undefined, UV_TCP_REUSEPORT);
      if (typeof r === 'number') throw bindError(text, r);
      const out: { address?: string; port?: number } = {};
      const err = r.getsockname?.(out) ?? 0;
      if (err !== 0) {
        r.close();
        throw bindError(text, err);
      }
      handle = r;
    },
    close(): void {
      if (closed) return;
      closed = true;
      handle?.close();
      handle = null;
      if (unixFile !== undefined) {
        try {
          unlinkSync(unixFile);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** One router's sockets, with the address text each was configured as. */
export type RouterSockets = Map<string, Array<{ configured: string; socket: BoundSocket }>>;

/**
 * The sockets a configuration needs: those of `current` whose key it still names are kept as
 * they are, the others bound now (`onBound` for each). On a ListenError the new ones are
 * closed again. `next` holds every socket the configuration uses, by key.
 */
export async function bindConfiguredSockets(
  routers: ReadonlyArray<{ router: string; addresses: readonly string[] }>,
  opts: ListenOptions,
  current: ReadonlyMap<string, BoundSocket>,
  onBound: (router: string, socket: BoundSocket) => void,
): Promise<{ next: Map<string, BoundSocket>; byRouter: RouterSockets; fresh: BoundSocket[] }> {
  const next = new Map<string, BoundSocket>();
  const byRouter: RouterSockets = new Map();
  const fresh: BoundSocket[] = [];
  // `:0` (any free port) names a new socket each time: the n-th one is kept as the n-th
  const anyPort = new Map<string, number>();
  try {
    for (const { router, addresses } of routers) {
      const list: Array<{ configured: string; socket: BoundSocket }> = [];
      for (const text of addresses) {
        let key = socketKey(text, opts);
        if (key.startsWith('tcp:') && key.endsWith(':0')) {
          const n = (anyPort.get(key) ?? 0) + 1;
          anyPort.set(key, n);
          key = `${key}#${n}`;
        }
        if (next.has(key)) throw new ListenError(`cannot listen on "${text}": configured twice`);
        let socket = current.get(key);
        if (!socket) {
          socket = await bindSocket(text, opts);
          fresh.push(socket);
          onBound(router, socket);
        }
        next.set(key, socket);
        list.push({ configured: text, socket });
      }
      byRouter.set(router, list);
    }
  } catch (e) {
    for (const s of fresh) s.close();
    throw e;
  }
  return { next, byRouter, fresh };
}
