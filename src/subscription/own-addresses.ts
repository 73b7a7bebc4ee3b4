/**
 * The process's own listening sockets (every router's listeners and stats sockets), so that
 * a subscription naming one of them is refused: a node at the router's own HTTP listener
 * makes one request open connections to itself until the file descriptors run out, and a
 * node at the stats socket serves the stats JSON on the public port.
 *
 * A TCP listener on a wildcard address (`0.0.0.0:P`, `[::]:P`, `:P`) is reached through any
 * local address with port P: 127/8, ::1, the interface addresses, `localhost`, this host's
 * name. Linux also connects `0.0.0.0` to 127.0.0.1 and `::` to ::1, and the resolver reads
 * inet_aton forms (`127.1`, `2130706433`, `0x7f.1`) as IPv4 addresses: all are canonicalised
 * before comparing. UNIX sockets compare by resolved path and by the file's device + inode
 * (a symlink or hard link to the socket is the socket). Other DNS names are not resolved
 * here (the HTTP router's loop detector is the second line for those).
 */
import { statSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { BackendAddress } from '../corerouter/types.ts';

interface OwnTcp {
  port: number;
  /** null = wildcard (every local address) */
  hosts: BlockList | null;
}

/** Refresh the interface addresses at most this often (interfaces come and go in months). */
const INTERFACES_TTL_MS = 30_000;

const LOCALHOST = ['127.0.0.1', '::1'];
/** the special answer "some address of this machine" (this host's own name) */
const THIS_HOST = 'this-host';

function family(ip: string): 'ipv4' | 'ipv6' {
  return isIP(ip) === 6 ? 'ipv6' : 'ipv4';
}

/** One inet_aton part: decimal, 0-octal or 0x-hex; NaN when it is none of those. */
function atonPart(p: string): number {
  if (/^0x[0-9a-f]*$/i.test(p)) return p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
  if (/^0[0-7]*$/.test(p)) return Number.parseInt(p, 8);
  if (/^[1-9][0-9]*$/.test(p)) return Number(p);
  return Number.NaN;
}

/** `127.1` → 127.0.0.1, `2130706433` → 127.0.0.1 (what getaddrinfo does with them); else null. */
export function inetAton(text: string): string | null {
  const parts = text.split('.');
  if (parts.length > 4) return null;
  const n = parts.map(atonPart);
  if (n.some((x) => Number.isNaN(x))) return null;
  const last = n[n.length - 1];
  const lastBits = 8 * (5 - n.length);
  if (last >= 2 ** lastBits) return null;
  let v = last;
  for (let i = 0; i < n.length - 1; i++) {
    if (n[i] > 255) return null;
    v += n[i] * 2 ** (8 * (3 - i));
  }
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export class OwnAddresses {
  private readonly tcp: OwnTcp[] = [];
  private readonly ports = new Set<number>();
  private readonly unixPaths = new Set<string>();
  private readonly unixFiles: Array<{ dev: number; ino: number }> = [];
  private readonly hostName: string;
  private local: BlockList | undefined;
  private localAt = 0;

  constructor(hostName = hostname()) {
    this.hostName = hostName.toLowerCase().replace(/\.$/, '');
  }

  /**
   * One listening address as configured or as bound (`127.0.0.1:8080`, `:8080`,
   * `[::]:8080`, `/run/u.sock`, `@abstract`); other forms (`=N`, `fd://N`) are added by
   * their bound name instead. Unknown host names are ignored (their bound name is added).
   */
  add(address: string): void {
    if (address.length === 0 || address.startsWith('=') || address.startsWith('fd://')) return;
    if (address.includes(':') && !address.startsWith('/') && !address.startsWith('@')) {
      const colon = address.lastIndexOf(':');
      const port = Number(address.slice(colon + 1));
      if (!Number.isInteger(port) || port <= 0 || port > 65535) return;
      const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
      if (host === '' || host === '0.0.0.0' || host === '::') {
        this.tcp.push({ port, hosts: null });
      } else {
        const ips = this.candidates(host).filter((h) => h !== THIS_HOST);
        if (ips.length === 0) return;
        const hosts = new BlockList();
        for (const ip of ips) hosts.addAddress(ip, family(ip));
        this.tcp.push({ port, hosts });
      }
      this.ports.add(port);
      return;
    }
    const path = address.startsWith('@') ? `\0${address.slice(1)}` : address;
    if (path.startsWith('\0')) {
      this.unixPaths.add(path);
      return;
    }
    this.unixPaths.add(resolve(path));
    try {
      const st = statSync(path);
      this.unixFiles.push({ dev: st.dev, ino: st.ino });
    } catch {
      // not bound yet (pre-registered from the configuration): the bound name comes later
    }
  }

  /** Is `target` one of this process's own listening sockets? */
  isSelf(target: BackendAddress): boolean {
    if (target.kind === 'tcp') {
      if (!this.ports.has(target.port)) return false;
      const ips = this.candidates(target.host);
      for (const own of this.tcp) {
        if (own.port !== target.port) continue;
        for (const ip of ips) {
          if (own.hosts === null ? ip === THIS_HOST || this.isLocal(ip) : own.hosts.check(ip, family(ip)))
            return true;
        }
      }
      return false;
    }
    if (this.unixPaths.size === 0) return false;
    if (target.path.startsWith('\0')) return this.unixPaths.has(target.path);
    if (this.unixPaths.has(resolve(target.path))) return true;
    if (this.unixFiles.length === 0) return false;
    try {
      const st = statSync(target.path); // follows symlinks
      return this.unixFiles.some((f) => f.dev === st.dev && f.ino === st.ino);
    } catch {
      return false;
    }
  }

  /** The addresses a host text connects to, canonical enough for BlockList. */
  private candidates(text: string): string[] {
    let host = text.toLowerCase();
    if (host.endsWith('.')) host = host.slice(0, -1);
    const zone = host.indexOf('%');
    if (zone > 0) host = host.slice(0, zone);
    const v = isIP(host);
    if (v === 4) return [host === '0.0.0.0' ? '127.0.0.1' : host];
    if (v === 6) return [host === '::' ? '::1' : host];
    if (host === 'localhost' || host.endsWith('.localhost') || host === 'ip6-localhost') return LOCALHOST;
    if (host === this.hostName) return [THIS_HOST];
    const aton = inetAton(host);
    if (aton !== null) return [aton === '0.0.0.0' ? '127.0.0.1' : aton];
    return [];
  }

  private isLocal(ip: string): boolean {
    const now = Date.now();
    if (this.local === undefined || now - this.localAt > INTERFACES_TTL_MS) {
      const b = new BlockList();
      b.addSubnet('127.0.0.0', 8, 'ipv4');
      b.addAddress('::1', 'ipv6');
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) {
          const addr = a.address.split('%')[0];
          b.addAddress(addr, family(addr));
        }
      }
      this.local = b;
      this.localAt = now;
    }
    return this.local.check(ip, family(ip));
  }
}
