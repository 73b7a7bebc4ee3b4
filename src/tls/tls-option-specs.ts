/**
 * The option forms that name certificates, parsed as uWSGI parses them (pure; errors are
 * ConfigErrors naming the option). spec: http-router.md §9, ssl-sni-sessions.md §2–3
 *
 *   --https / --sslrouter     ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]   (CLIENT_CA keeps any commas)
 *   --https2 / --sslrouter2   addr=..,cert|crt=..,key=..,ciphers=..,clientca|client_ca=..[,spdy=..]
 *   --sni / --sni-regexp      "NAME CRT,KEY[,CIPHERS[,CLIENT_CA]]"
 *
 * A CLIENT_CA starting with "!" makes the client certificate required, else it is asked
 * for and checked when sent. CRT/KEY/CA values starting with "-----BEGIN " are inline PEM
 * when `--ssl-tmp-dir` is set (uWSGI writes them to files there; uwrouter keeps them in
 * memory and writes nothing), and refused otherwise (uWSGI would try to open a file of
 * that name and fail).
 */
import { ConfigError } from '../errors.ts';
import type { CertificateSpec, ClientCertPolicy, PemSource } from './certificate-material.ts';

export interface TlsListenerSpec {
  /** the option it came from, for messages */
  option: string;
  /** the listening address exactly as given (also the default session id context's suffix) */
  address: string;
  certificate: CertificateSpec;
  /** `--https2 spdy=..` was given (uWSGI turns SPDY on for any value): ignored with a warning */
  spdy?: boolean;
}

export interface SniItemSpec {
  option: 'sni' | 'sni-regexp';
  /** the normalised name (`--sni`) or the pattern (`--sni-regexp`) */
  name: string;
  certificate: CertificateSpec;
}

const INLINE = '-----BEGIN ';

export function pemSource(value: string, inlinePem: boolean, what: string): PemSource {
  if (value.startsWith(INLINE)) {
    if (!inlinePem) {
      throw new ConfigError(`${what}: inline PEM is only accepted with --ssl-tmp-dir (as in uWSGI)`);
    }
    return { kind: 'inline', pem: value };
  }
  return { kind: 'file', path: value };
}

function clientCa(
  value: string | undefined,
  inlinePem: boolean,
  what: string,
): { clientCa: PemSource | undefined; clientCert: ClientCertPolicy } {
  if (value === undefined || value === '') return { clientCa: undefined, clientCert: 'none' };
  const required = value.startsWith('!');
  const ca = required ? value.slice(1) : value;
  if (ca === '') throw new ConfigError(`${what}: "!" must be followed by the client CA file`);
  return { clientCa: pemSource(ca, inlinePem, what), clientCert: required ? 'required' : 'optional' };
}

/** `CRT,KEY[,CIPHERS[,CLIENT_CA]]` with CLIENT_CA taking the rest (uWSGI splits at 3 commas). */
function certificateFields(
  label: string,
  rest: string,
  inlinePem: boolean,
  what: string,
  form: string,
): CertificateSpec {
  const c1 = rest.indexOf(',');
  if (c1 < 0) throw new ConfigError(`${what}: expected ${form}`);
  const c2 = rest.indexOf(',', c1 + 1);
  const c3 = c2 < 0 ? -1 : rest.indexOf(',', c2 + 1);
  const crt = rest.slice(0, c1);
  const key = c2 < 0 ? rest.slice(c1 + 1) : rest.slice(c1 + 1, c2);
  const ciphers = c2 < 0 ? undefined : c3 < 0 ? rest.slice(c2 + 1) : rest.slice(c2 + 1, c3);
  const ca = c3 < 0 ? undefined : rest.slice(c3 + 1);
  if (crt === '' || key === '') throw new ConfigError(`${what}: expected ${form}`);
  return {
    label,
    pairs: [{ cert: pemSource(crt, inlinePem, what), key: pemSource(key, inlinePem, what) }],
    ciphers: ciphers === '' ? undefined : ciphers,
    ...clientCa(ca, inlinePem, what),
  };
}

/** `--https` / `--sslrouter`: ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]] */
export function parseTlsListen(option: string, value: string, inlinePem: boolean): TlsListenerSpec {
  const what = `--${option} "${value.length > 80 ? `${value.slice(0, 80)}…` : value}"`;
  const comma = value.indexOf(',');
  const address = comma < 0 ? value : value.slice(0, comma);
  if (comma <= 0) throw new ConfigError(`${what}: expected ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]`);
  const certificate = certificateFields(
    address,
    value.slice(comma + 1),
    inlinePem,
    what,
    'ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]',
  );
  return { option, address, certificate };
}

const KEYVAL_KEYS: Record<string, string> = {
  addr: 'addr',
  cert: 'cert',
  crt: 'cert',
  key: 'key',
  ciphers: 'ciphers',
  clientca: 'clientca',
  client_ca: 'clientca',
  spdy: 'spdy',
};

/** uWSGI's kvlist: items split at unescaped commas, `\` escapes the next character. */
function splitKeyval(value: string): string[] {
  const items: string[] = [];
  let cur = '';
  let escaped = false;
  for (const ch of value) {
    if (escaped) {
      cur += ch;
      escaped = false;
    } else if (ch === '\\') escaped = true;
    else if (ch === ',') {
      items.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur !== '') items.push(cur);
  return items;
}

/** `--https2` / `--sslrouter2`: addr, cert|crt, key, ciphers, clientca|client_ca (+ spdy for https2). */
export function parseTlsListen2(option: string, value: string, inlinePem: boolean): TlsListenerSpec {
  const what = `--${option} "${value.length > 80 ? `${value.slice(0, 80)}…` : value}"`;
  const kv = new Map<string, string>();
  for (const item of splitKeyval(value)) {
    const eq = item.indexOf('=');
    const k = KEYVAL_KEYS[eq < 0 ? item : item.slice(0, eq)];
    if (k === undefined || (k === 'spdy' && option !== 'https2')) {
      const known =
        option === 'https2'
          ? 'addr, cert|crt, key, ciphers, clientca|client_ca, spdy'
          : 'addr, cert|crt, key, ciphers, clientca|client_ca';
      throw new ConfigError(`${what}: unknown item "${item}" (known: ${known})`);
    }
    if (eq < 0) throw new ConfigError(`${what}: "${item}" needs a value (${item}=...)`);
    kv.set(k, item.slice(eq + 1));
  }
  const address = kv.get('addr');
  const crt = kv.get('cert');
  const key = kv.get('key');
  if (!address || !crt || !key) throw new ConfigError(`${what}: needs addr, cert and key items`);
  const ciphers = kv.get('ciphers');
  return {
    option,
    address,
    ...(kv.has('spdy') ? { spdy: true } : {}),
    certificate: {
      label: address,
      pairs: [{ cert: pemSource(crt, inlinePem, what), key: pemSource(key, inlinePem, what) }],
      ciphers: ciphers === '' ? undefined : ciphers,
      ...clientCa(kv.get('clientca'), inlinePem, what),
    },
  };
}

/** Host-name bytes of an `--sni` NAME (a leading dot is the dotsplit `.example.com` form). */
const SNI_NAME = /^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/** `--sni` / `--sni-regexp`: "NAME CRT,KEY[,CIPHERS[,CLIENT_CA]]" (a space after NAME). */
export function parseSniItem(option: 'sni' | 'sni-regexp', value: string, inlinePem: boolean): SniItemSpec {
  const what = `--${option} "${value.length > 80 ? `${value.slice(0, 80)}…` : value}"`;
  const form =
    option === 'sni' ? 'NAME CRT,KEY[,CIPHERS[,CLIENT_CA]]' : 'REGEXP CRT,KEY[,CIPHERS[,CLIENT_CA]]';
  const space = value.indexOf(' ');
  if (space <= 0) throw new ConfigError(`${what}: expected "${form}" (a space after the name)`);
  let name = value.slice(0, space);
  if (option === 'sni') {
    // the same normalisation as the ClientHello's server name (tls-client-hello.ts)
    name = name.toLowerCase();
    if (name.length > 1 && name.endsWith('.')) name = name.slice(0, -1);
    if (name.includes('*')) {
      throw new ConfigError(
        `${what}: "${name}" is matched exactly, wildcards are not; use --sni-regexp, or ` +
          '--subscription-dotsplit with a ".example.com" name',
      );
    }
    if (name.length > 255 || !SNI_NAME.test(name))
      throw new ConfigError(`${what}: "${name}" is not a host name`);
  } else {
    try {
      new RegExp(name, 'i');
    } catch (e) {
      throw new ConfigError(`${what}: not a valid regular expression (${(e as Error).message})`);
    }
  }
  return {
    option,
    name,
    certificate: certificateFields(name, value.slice(space + 1), inlinePem, what, form),
  };
}
