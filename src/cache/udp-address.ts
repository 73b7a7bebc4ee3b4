/**
 * Addresses of the cache UDP sync (spec: ssl-sni-sessions.md §7): a receiving `udp=` /
 * `cache-udp-server` address (`ip:port`, `:port` for every IPv4 interface, `[v6]:port`;
 * 224.0.0.0/4 joins the multicast group on the wildcard address) and a sending `nodes=` /
 * `cache-udp-node` address (`host:port`, the host resolved once at start-up as uWSGI does;
 * 255.255.255.255 sends broadcasts).
 */
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.ts';

export interface UdpServerAddress {
  host: string;
  port: number;
  type: 'udp4' | 'udp6';
  /** group joined after binding the wildcard address */
  multicast?: string;
  /** as configured, for log lines */
  text: string;
}

export interface UdpNodeAddress {
  host: string;
  port: number;
  type: 'udp4' | 'udp6';
  broadcast: boolean;
  text: string;
}

function splitPort(text: string): { host: string; port: number; v6: boolean } | string {
  let host: string;
  let portText: string;
  let v6 = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return 'expected [IPv6]:PORT';
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    v6 = true;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'expected HOST:PORT (uWSGI binds only addresses with a port)';
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return `bad port "${portText}"`;
  return { host, port: Number(portText), v6 };
}

function isMulticast(ip: string): boolean {
  const first = Number(ip.split('.')[0]);
  return isIPv4(ip) && first >= 224 && first <= 239;
}

export function parseUdpServerAddress(text: string, where: string): UdpServerAddress {
  const p = splitPort(text);
  if (typeof p === 'string') throw new ConfigError(`${where} "${text}": ${p}`);
  if (p.v6) {
    if (!isIPv6(p.host)) throw new ConfigError(`${where} "${text}": "${p.host}" is not an IPv6 address`);
    return { host: p.host, port: p.port, type: 'udp6', text };
  }
  const host = p.host === '' ? '0.0.0.0' : p.host;
  if (!isIPv4(host))
    throw new ConfigError(`${where} "${text}": the host must be an IPv4 address (or [IPv6])`);
  if (isMulticast(host)) return { host: '0.0.0.0', port: p.port, type: 'udp4', multicast: host, text };
  return { host, port: p.port, type: 'udp4', text };
}

/** Resolves a node address (names once, at start-up). */
export async function resolveUdpNodeAddress(text: string, where: string): Promise<UdpNodeAddress> {
  const p = splitPort(text);
  if (typeof p === 'string') throw new ConfigError(`${where} "${text}": ${p}`);
  if (p.port === 0) throw new ConfigError(`${where} "${text}": port 0 cannot be sent to`);
  if (p.v6) {
    if (!isIPv6(p.host)) throw new ConfigError(`${where} "${text}": "${p.host}" is not an IPv6 address`);
    return { host: p.host, port: p.port, type: 'udp6', broadcast: false, text };
  }
  const name = p.host === '' ? '127.0.0.1' : p.host;
  if (isIPv4(name)) {
    return { host: name, port: p.port, type: 'udp4', broadcast: name === '255.255.255.255', text };
  }
  try {
    const r = await lookup(name);
    return { host: r.address, port: p.port, type: r.family === 6 ? 'udp6' : 'udp4', broadcast: false, text };
  } catch (e) {
    throw new ConfigError(
      `${where} "${text}": cannot resolve "${name}": ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
}
