/**
 * Listening sockets for every router: `ip:port`, `:port`, `[v6]:port`, UNIX paths (a stale
 * file is replaced, the file is removed on close), `=N` shared sockets and `fd://N`.
 * `listen()` binds in this process (embedded routers); `adoptListener()` serves a socket the
 * cluster primary bound and passed over IPC (src/cluster/bound-sockets.ts): closing it stops
 * this process accepting, while the socket (and its UNIX file) stays the primary's.
 * spec: corerouter.md §1, §6
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ListenError } from '../errors.ts';
import {
  applyUnixSocketSettings,
  type UnixSocketSettings,
  withNarrowedUmask,
} from '../process/unix-socket-mode.ts';
import { boundName, type ListenAddress, parseListenAddress } from './address.ts';

export interface Listener {
  /** the address as configured (rawrouter/sslrouter key, spec: corerouter.md §3) */
  readonly configured: string;
  /** the getsockname form (`:PORT`, `IP:PORT`, path), used in logs, stats and SERVER_PORT */
  name: string;
  readonly server: Server;
  /** the OS fd when Node exposes it, else -1 (for uWSGI's "bound on … fd N" line) */
  fd: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** listen backlog (`listen` option, default 100) */
  backlog: number;
  /** `--shared-socket` addresses, indexed by `=N` */
  sharedSockets: readonly string[];
  /** mode and owner of UNIX socket files this listener binds (not abstract ones, not fd://N) */
  unixSocket?: UnixSocketSettings;
  /** `--reuse-port`: TCP sockets are bound with SO_REUSEPORT */
  reusePort?: boolean;
}

/** Is something accepting on this UNIX socket path? (decides whether a file is stale) */
function unixSocketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function removeStaleSocket(path: string): Promise<void> {
  if (path.startsWith('\0')) return;
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket())
    throw new ListenError(`cannot listen on "${path}": a file that is not a socket is in the way`);
  if (await unixSocketAlive(path))
    throw new ListenError(`cannot listen on "${path}": another process is serving it`);
  unlinkSync(path);
}

export function resolveShared(addr: ListenAddress, opts: ListenOptions): ListenAddress {
  if (addr.kind !== 'shared') return addr;
  const target = opts.sharedSockets[addr.index];
  if (target === undefined) {
    throw new ListenError(`"${addr.text}": there is no --shared-socket number ${addr.index}`);
  }
  const r = parseListenAddress(target);
  if (!r.ok || r.value.kind === 'shared')
    throw new ListenError(`--shared-socket "${target}": ${r.ok ? 'nested' : r.error}`);
  return r.value;
}

/** Binds one listening address; connections go to `onConnection`. */
export async function listen(
  text: string,
  opts: ListenOptions,
  onConnection: (socket: Socket, listener: Listener) => void,
): Promise<Listener> {
  const parsed = parseListenAddress(text);
  if (!parsed.ok) throw new ListenError(parsed.error);
  const addr = resolveShared(parsed.value, opts);
  const server = createServer({ noDelay: true, allowHalfOpen: true });
  const listener: Listener = {
    configured: text,
    name: text,
    server,
    fd: -1,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (addr.kind === 'unix' && !addr.path.startsWith('\0')) {
          try {
            unlinkSync(addr.path);
          } catch {
            // already gone
          }
        }
      }),
  };
  server.on('connection', (s: Socket) => onConnection(s, listener));
  if (addr.kind === 'unix') await removeStaleSocket(addr.path);
  const socketFile = addr.kind === 'unix' && !addr.path.startsWith('\0') ? opts.unixSocket : undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ListenError(`cannot listen on "${text}": ${err.message}`, { cause: err })),
    );
    if (addr.kind === 'tcp')
      server.listen(
        { host: addr.host, port: addr.port, backlog: opts.backlog, reusePort: opts.reusePort === true },
        resolve,
      );
    else if (addr.kind === 'unix')
      // the bind inside listen() is synchronous: the socket file is created under the narrowed umask
      withNarrowedUmask(socketFile?.mode, () =>
        server.listen({ path: addr.path, backlog: opts.backlog }, resolve),
      );
    else if (addr.kind === 'fd') server.listen({ fd: addr.fd, backlog: opts.backlog }, resolve);
  });
  if (socketFile && addr.kind === 'unix') {
    try {
      applyUnixSocketSettings(addr.path, socketFile);
    } catch (err) {
      await listener.close();
      throw new ListenError(`cannot listen on "${text}": ${(err as Error).message}`, { cause: err });
    }
  }
  server.removeAllListeners('error');
  server.on('error', () => {
    // accept errors (EMFILE…) are transient; the server keeps listening
  });
  listener.name = boundName(server.address() as { address: string; port: number } | string);
  const handle = (server as unknown as { _handle?: { fd?: number } })._handle;
  listener.fd = typeof handle?.fd === 'number' ? handle.fd : -1;
  return listener;
}

/** What the primary tells a worker about one socket it passes (src/cluster/messages.ts). */
export interface AdoptedSocket {
  /** the address as configured */
  configured: string;
  /** the bound name the primary read (getsockname form) */
  name: string;
  fd: number;
}

/**
 * Serves a listening socket bound by the cluster primary: `handle` is the native handle
 * received with an IPC message. The worker's `listen(backlog)` puts it in the listening state
 * (the primary only binds: it must never accept). `close()` closes this process's copy only.
 */
export function adoptListener(
  handle: object,
  socket: AdoptedSocket,
  backlog: number,
  onConnection: (socket: Socket, listener: Listener) => void,
): Promise<Listener> {
  const server = createServer({ noDelay: true, allowHalfOpen: true });
  const listener: Listener = {
    configured: socket.configured,
    name: socket.name,
    server,
    fd: socket.fd,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  server.on('connection', (s: Socket) => onConnection(s, listener));
  return new Promise<Listener>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ListenError(`cannot listen on "${socket.configured}": ${err.message}`, { cause: err })),
    );
    // a TCP handle is taken as is; a Pipe handle is listened on through its fd (Node's own
    // child_process 'net.Server' passing does the same)
    server.listen(handle as Parameters<Server['listen']>[0], backlog, () => {
      server.removeAllListeners('error');
      server.on('error', () => {
        // accept errors (EMFILE…) are transient; the server keeps listening
      });
      resolve(listener);
    });
  });
}
