/**
 * Certificates made at test time with the openssl CLI, in a temporary directory removed at
 * exit: a CA, intermediates, server leaves for given names (RSA or ECDSA), expired or
 * not-yet-valid ones, and client certificates. `openssl ca` is used for signing because it
 * can set any validity dates (OpenSSL 3.0's `x509 -days` cannot go into the past).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyKind = 'rsa' | 'ecdsa';

export interface CertFiles {
  crt: string;
  key: string;
}

export interface LeafOptions {
  kind?: KeyKind;
  /** extra DNS names / IPs (the first name is also the CN) */
  names?: string[];
  /** validity window; default: from a day ago for 30 days */
  notBefore?: Date;
  notAfter?: Date;
  /** a client (clientAuth) instead of a server certificate */
  client?: boolean;
  /** file name stem (default: first name + kind) */
  stem?: string;
  /** write the CA chain file (leaf + issuer) as the CRT */
  withChain?: boolean;
}

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stamp(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestCerts {
  readonly dir: string;
  private serial = 0;

  constructor(prefix = 'tls') {
    this.dir = mkdtempSync(join(tmpdir(), `uwr-${prefix}-`));
    dirs.push(this.dir);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  newKey(kind: KeyKind, file: string): string {
    const path = this.path(file);
    if (kind === 'rsa')
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path]);
    else openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
    return path;
  }

  /** A self-signed root CA (ECDSA P-256). */
  ca(name = 'uwrouter test CA'): CertFiles {
    const stem = name.replace(/\W+/g, '-');
    const key = this.newKey('ecdsa', `${stem}.key`);
    const crt = this.path(`${stem}.crt`);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      `/CN=${name}`,
      '-days',
      '3650',
      '-out',
      crt,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return { crt, key };
  }

  /** Signs a CSR with `issuer` (openssl ca, explicit dates). */
  private sign(issuer: CertFiles, csr: string, out: string, ext: string, from: Date, to: Date): void {
    const db = this.path(`ca-db-${++this.serial}`);
    writeFileSync(`${db}.index`, '');
    const conf = this.path(`ca-${this.serial}.cnf`);
    writeFileSync(
      conf,
      [
        '[ca]',
        'default_ca = d',
        '[d]',
        `database = ${db}.index`,
        `new_certs_dir = ${this.dir}`,
        'rand_serial = yes',
        'default_md = sha256',
        'policy = p',
        'unique_subject = no',
        'email_in_dn = no',
        '[p]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    const extFile = this.path(`ext-${this.serial}.cnf`);
    writeFileSync(extFile, `[x]\n${ext}\n`);
    openssl([
      'ca',
      '-batch',
      '-config',
      conf,
      '-cert',
      issuer.crt,
      '-keyfile',
      issuer.key,
      '-in',
      csr,
      '-out',
      out,
      '-startdate',
      stamp(from),
      '-enddate',
      stamp(to),
      '-notext',
      '-extfile',
      extFile,
      '-extensions',
      'x',
    ]);
  }

  /** An intermediate CA signed by `issuer`. */
  intermediate(issuer: CertFiles, name = 'uwrouter test intermediate'): CertFiles {
    const stem = name.replace(/\W+/g, '-');
    const key = this.newKey('ecdsa', `${stem}.key`);
    const csr = this.path(`${stem}.csr`);
    const crt = this.path(`${stem}.crt`);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
    const now = Date.now();
    this.sign(
      issuer,
      csr,
      crt,
      'basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign',
      new Date(now - 86400_000),
      new Date(now + 30 * 86400_000),
    );
    return { crt, key };
  }

  /** A server (or client) certificate for `name` signed by `issuer`. */
  leaf(issuer: CertFiles, name: string, options: LeafOptions = {}): CertFiles {
    const kind = options.kind ?? 'ecdsa';
    const stem = options.stem ?? `${name.replace(/[^\w.-]/g, '_')}.${kind}${options.client ? '.client' : ''}`;
    const key = this.newKey(kind, `${stem}.key`);
    const csr = this.path(`${stem}.csr`);
    const crt = this.path(`${stem}.crt`);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
    const alt = [name, ...(options.names ?? [])]
      .map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`))
      .join(',');
    const ext = options.client
      ? 'basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth'
      : `basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = ${alt}`;
    const now = Date.now();
    this.sign(
      issuer,
      csr,
      crt,
      ext,
      options.notBefore ?? new Date(now - 86400_000),
      options.notAfter ?? new Date(now + 30 * 86400_000),
    );
    if (options.withChain)
      writeFileSync(crt, readFileSync(crt, 'latin1') + readFileSync(issuer.crt, 'latin1'));
    return { crt, key };
  }

  /** A file holding `text` (for "not a certificate" cases). */
  file(name: string, text: string): string {
    const path = this.path(name);
    writeFileSync(path, text);
    return path;
  }
}

/** SHA-256 fingerprint of the first certificate in a PEM file (compare with getPeerX509Certificate()). */
export function fingerprint(crtFile: string): string {
  return new X509Certificate(readFileSync(crtFile)).fingerprint256;
}
