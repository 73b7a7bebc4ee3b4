/**
 * Certificate material: the PEM text a secure context is built from, read once and checked
 * (a certificate that is not one, a key that does not match, a certificate outside its
 * validity period) before any context exists, so the failure names the file.
 * spec: ssl-sni-sessions.md §1 (CRT is a chain file, KEY a PEM key, CLIENT_CA "!" = required)
 *
 * Reading is synchronous on purpose: contexts are picked synchronously from a parsed
 * ClientHello, and files are read once per (re)load, never per handshake.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { readPemFile } from './pem-files.ts';

/** A CRT/KEY/CA value: a file path, or inline PEM (uWSGI: with `--ssl-tmp-dir`). */
export type PemSource = { kind: 'file'; path: string } | { kind: 'inline'; pem: string };

/** none = no client certificate asked; optional = asked, checked if sent; required = `!CA` */
export type ClientCertPolicy = 'none' | 'optional' | 'required';

export interface CertificateSpec {
  /** what the context serves, for log lines: an SNI name, a regexp, a listener address */
  label: string;
  /** one chain+key per key type: an RSA and an ECDSA certificate may serve the same name */
  pairs: Array<{ cert: PemSource; key: PemSource }>;
  /** CIPHERS; undefined/empty = the default list */
  ciphers: string | undefined;
  clientCa: PemSource | undefined;
  clientCert: ClientCertPolicy;
}

export interface KeyPairMaterial {
  certPem: string;
  keyPem: string;
  /** node:crypto's asymmetricKeyType: 'rsa', 'ec', 'ed25519', 'rsa-pss', … */
  keyType: string;
  /** the leaf's notAfter, ms since the epoch */
  notAfter: number;
}

export interface CertificateMaterial {
  readonly spec: CertificateSpec;
  readonly pairs: readonly KeyPairMaterial[];
  readonly clientCaPem: string | undefined;
  /** PEM bytes held (the store's byte estimate starts from this) */
  readonly bytes: number;
  /** the files' identity when read (see filesStamp); '' when everything is inline */
  readonly stamp: string;
}

export type MaterialResult =
  | { ok: true; material: CertificateMaterial }
  | { ok: false; file: string; reason: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function pemSourceName(src: PemSource): string {
  return src.kind === 'file' ? src.path : '(inline PEM)';
}

function specFiles(spec: CertificateSpec): PemSource[] {
  const out: PemSource[] = [];
  for (const p of spec.pairs) out.push(p.cert, p.key);
  if (spec.clientCa) out.push(spec.clientCa);
  return out;
}

/**
 * What the spec's files are right now (inode, size, mtime of each; "-" for a missing
 * one): a different stamp means a certificate changed on disk and must be re-read.
 */
export function filesStamp(spec: CertificateSpec): string {
  let stamp = '';
  for (const src of specFiles(spec)) {
    if (src.kind !== 'file') continue;
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(src.path, { throwIfNoEntry: false });
    } catch {
      // not even its directory is readable (a worker after the privilege drop): unknown
      stamp += '?;';
      continue;
    }
    stamp += st ? `${st.ino}:${st.size}:${st.mtimeMs};` : '-;';
  }
  return stamp;
}

type Read = { ok: true; text: string } | { ok: false; file: string; reason: string };

function readPem(src: PemSource): Read {
  if (src.kind === 'inline') return { ok: true, text: src.pem };
  const r = readPemFile(src.path);
  return r.ok ? r : { ok: false, file: src.path, reason: `cannot read it (${r.code})` };
}

function day(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The certificates of a PEM text, parsed, and just their PEM blocks (a CRT file may also
 * hold DH parameters or the key, which uWSGI allows and the context must not be given).
 */
function parseCertificates(text: string): { certs: X509Certificate[]; pem: string } | string {
  const blocks = text.match(PEM_CERT);
  if (!blocks) return 'is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block)';
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block));
    } catch (e) {
      return `holds a certificate that does not parse (${(e as Error).message})`;
    }
  }
  return { certs, pem: `${blocks.join('\n')}\n` };
}

function loadPair(
  pair: { cert: PemSource; key: PemSource },
  nowMs: number,
): { ok: true; pair: KeyPairMaterial } | { ok: false; file: string; reason: string } {
  const certName = pemSourceName(pair.cert);
  const certText = readPem(pair.cert);
  if (!certText.ok) return certText;
  const parsed = parseCertificates(certText.text);
  if (typeof parsed === 'string') return { ok: false, file: certName, reason: parsed };
  const leaf = parsed.certs[0];
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  if (nowMs > to) return { ok: false, file: certName, reason: `certificate expired on ${day(to)}` };
  if (nowMs < from)
    return { ok: false, file: certName, reason: `certificate is not valid before ${day(from)}` };
  const keyName = pemSourceName(pair.key);
  const keyText = readPem(pair.key);
  if (!keyText.ok) return keyText;
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText.text);
  } catch (e) {
    return {
      ok: false,
      file: keyName,
      reason: `is not an unencrypted PEM private key (${(e as Error).message})`,
    };
  }
  // OpenSSL takes a key of another type than the certificate without complaint (it goes
  // into that type's empty slot), so the match is checked here.
  if (!leaf.checkPrivateKey(key)) {
    return { ok: false, file: keyName, reason: `private key does not match the certificate ${certName}` };
  }
  return {
    ok: true,
    pair: {
      certPem: parsed.pem,
      keyPem: keyText.text,
      keyType: key.asymmetricKeyType ?? 'unknown',
      notAfter: to,
    },
  };
}

/** Reads and checks everything a context needs. `nowMs` decides expiry. */
export function loadCertificateMaterial(spec: CertificateSpec, nowMs: number = Date.now()): MaterialResult {
  // the stamp is taken before reading, so a change during the read shows at the next check
  const stamp = filesStamp(spec);
  const pairs: KeyPairMaterial[] = [];
  let bytes = 0;
  for (const p of spec.pairs) {
    const r = loadPair(p, nowMs);
    if (!r.ok) return r;
    const same = pairs.find((q) => q.keyType === r.pair.keyType);
    if (same) {
      return {
        ok: false,
        file: pemSourceName(p.cert),
        reason: `a second ${r.pair.keyType} certificate for "${spec.label}" (one per key type: RSA and ECDSA)`,
      };
    }
    pairs.push(r.pair);
    bytes += r.pair.certPem.length + r.pair.keyPem.length;
  }
  let clientCaPem: string | undefined;
  if (spec.clientCa) {
    const ca = readPem(spec.clientCa);
    if (!ca.ok) return ca;
    const parsed = parseCertificates(ca.text);
    if (typeof parsed === 'string') return { ok: false, file: pemSourceName(spec.clientCa), reason: parsed };
    clientCaPem = parsed.pem;
    bytes += parsed.pem.length;
  }
  return { ok: true, material: { spec, pairs, clientCaPem, bytes, stamp } };
}

/** Do two specs name the same files and settings (a repeated subscription)? */
export function sameSpec(a: CertificateSpec, b: CertificateSpec): boolean {
  const src = (s: PemSource | undefined) =>
    s === undefined ? '' : s.kind === 'file' ? `f:${s.path}` : `i:${s.pem}`;
  if (a.pairs.length !== b.pairs.length || a.ciphers !== b.ciphers || a.clientCert !== b.clientCert)
    return false;
  if (src(a.clientCa) !== src(b.clientCa)) return false;
  return a.pairs.every((p, i) => src(p.cert) === src(b.pairs[i].cert) && src(p.key) === src(b.pairs[i].key));
}
