/**
 * Parsing of the node-side options (spec: subscription.md §6): `--subscribe-to`
 * (`[ADDR=]SERVER:KEY[,MODIFIER1[,DIGEST:KEYFILE]]`, `SERVER:@mapfile`) and `--subscribe2`.
 * Pure apart from reading a mapping file; errors are ConfigErrors naming the option.
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { ConfigError } from '../errors.ts';

export interface SubscriptionTarget {
  /** `ip:port`, `[v6]:port` or a unix datagram path (parsed, refused by the Subscriber) */
  server: string;
  key: string;
  /** announced address; undefined = the node's default (first socket) */
  address?: string;
  /** `=N=` / subscribe2 `socket=N`: announce the node's N-th socket */
  socketIndex?: number;
  weight?: number;
  modifier1?: number;
  modifier2?: number;
  sign?: { digest: string; keyFile: string };
  /** skip the packet while this file exists */
  check?: string;
  sniKey?: string;
  sniCrt?: string;
  sniCa?: string;
  backup?: number;
  proto?: string;
}

function decimal(value: string, what: string, option: string, max = 255): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new ConfigError(`--${option}: ${what} must be an integer 0..${max}, got "${value}"`);
  }
  return Number(value);
}

function parseSign(value: string, option: string): { digest: string; keyFile: string } {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new ConfigError(
      `--${option}: signing must be DIGEST:KEYFILE (e.g. SHA256:/etc/uwsgi/node.pem), got "${value}"`,
    );
  }
  return { digest: value.slice(0, colon), keyFile: value.slice(colon + 1) };
}

/** Splits `SERVER:REST`: `[v6]:port:`, `ip:port:` / `:port:` (key after the 2nd colon), else `/unix/path:`. */
function splitServer(value: string, option: string): [server: string, rest: string] {
  let end: number;
  if (value.startsWith('[')) {
    const close = value.indexOf(']:');
    end = close < 0 ? -1 : value.indexOf(':', close + 2);
  } else {
    const first = value.indexOf(':');
    const host = first < 0 ? '' : value.slice(0, first);
    end = first >= 0 && (host === '' || isIPv4(host)) ? value.indexOf(':', first + 1) : first;
  }
  if (end <= 0 || end === value.length - 1) {
    throw new ConfigError(`--${option} "${value}": expected SERVER:KEY, e.g. 127.0.0.1:2626:example.com`);
  }
  return [value.slice(0, end), value.slice(end + 1)];
}

/** `KEY[,MODIFIER1]` lines; `#` comments and empty lines skipped; no signing (§6). */
export function parseMapFile(
  text: string,
  server: string,
  address: string | undefined,
  option: string,
): SubscriptionTarget[] {
  const out: SubscriptionTarget[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const comma = line.indexOf(',');
    const t: SubscriptionTarget = { server, key: comma < 0 ? line : line.slice(0, comma) };
    if (comma >= 0) t.modifier1 = decimal(line.slice(comma + 1).trim(), 'modifier1', option);
    if (address !== undefined) t.address = address;
    out.push(t);
  }
  return out;
}

/** One `--subscribe-to` value → one target (or many for `@mapfile`). */
export function parseSubscribeTo(
  value: string,
  option = 'subscribe-to',
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): SubscriptionTarget[] {
  let rest = value;
  let address: string | undefined;
  let socketIndex: number | undefined;
  const m = /^=(\d+)=/.exec(rest);
  if (m) {
    socketIndex = Number(m[1]);
    rest = rest.slice(m[0].length);
  } else {
    const eq = rest.indexOf('=');
    if (eq >= 0) {
      address = rest.slice(0, eq);
      rest = rest.slice(eq + 1);
      if (address === '') throw new ConfigError(`--${option} "${value}": empty address before "="`);
    }
  }
  const [server, spec] = splitServer(rest, option);
  if (spec.startsWith('@')) {
    let text: string;
    try {
      text = readFile(spec.slice(1));
    } catch (e) {
      throw new ConfigError(`--${option} "${value}": cannot read mapping file: ${(e as Error).message}`);
    }
    return parseMapFile(text, server, address, option);
  }
  const parts = spec.split(',');
  const key = parts[0];
  if (key === '') throw new ConfigError(`--${option} "${value}": empty key`);
  const t: SubscriptionTarget = { server, key };
  if (address !== undefined) t.address = address;
  if (socketIndex !== undefined) t.socketIndex = socketIndex;
  if (parts.length > 1 && parts[1] !== '') t.modifier1 = decimal(parts[1], 'modifier1', option);
  if (parts.length > 2) t.sign = parseSign(parts.slice(2).join(','), option);
  return [t];
}

const SUBSCRIBE2_KEYS = [
  'server',
  'key',
  'addr',
  'address',
  'socket',
  'weight',
  'modifier1',
  'modifier2',
  'sign',
  'check',
  'sni_key',
  'sni_crt',
  'sni_ca',
  'backup',
  'proto',
] as const;

/** `--subscribe2 server=…,key=…[,addr=…,weight=…,modifier1=…,modifier2=…,sign=…,check=…,sni_*=…,backup=…]` */
export function parseSubscribe2(value: string, option = 'subscribe2'): SubscriptionTarget {
  const kv = new Map<string, string>();
  for (const item of value.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const k = eq < 0 ? item : item.slice(0, eq);
    if (!(SUBSCRIBE2_KEYS as readonly string[]).includes(k)) {
      throw new ConfigError(`--${option}: unknown key "${k}" (known: ${SUBSCRIBE2_KEYS.join(', ')})`);
    }
    kv.set(k, eq < 0 ? '' : item.slice(eq + 1));
  }
  const server = kv.get('server');
  const key = kv.get('key');
  if (!server) throw new ConfigError(`--${option} "${value}": server= is required`);
  if (!key) throw new ConfigError(`--${option} "${value}": key= is required`);
  const t: SubscriptionTarget = { server, key };
  const addr = kv.get('addr') ?? kv.get('address');
  if (addr) t.address = addr;
  const get = (k: string): string | undefined => {
    const v = kv.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  const num = (k: string, max = 255): number | undefined => {
    const v = get(k);
    return v === undefined ? undefined : decimal(v, k, option, max);
  };
  t.socketIndex = num('socket', 1024);
  t.weight = num('weight', 0xffffffff);
  t.modifier1 = num('modifier1');
  t.modifier2 = num('modifier2');
  t.backup = num('backup');
  const sign = get('sign');
  if (sign !== undefined) t.sign = parseSign(sign, option);
  t.check = get('check');
  t.sniKey = get('sni_key');
  t.sniCrt = get('sni_crt');
  t.sniCa = get('sni_ca');
  t.proto = get('proto');
  for (const k of Object.keys(t) as Array<keyof SubscriptionTarget>) if (t[k] === undefined) delete t[k];
  return t;
}
