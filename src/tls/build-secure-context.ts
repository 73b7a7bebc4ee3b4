/**
 * Builds one node:tls SecureContext from checked certificate material: the only place a
 * context is created. spec: ssl-sni-sessions.md §1
 *
 * - minVersion TLS 1.2 (TLS 1.0 with `--ssl-enable-tlsv1`), TLS 1.3 on;
 * - the server's cipher order wins (uWSGI: only when CIPHERS is given);
 * - renegotiation refused (SSL_OP_NO_RENEGOTIATION: a client's renegotiation request gets
 *   a no_renegotiation alert), compression off;
 * - every key pair goes into the one context: OpenSSL then serves the ECDSA or the RSA
 *   certificate by what the client offers (signature algorithms, TLS 1.2 cipher suites,
 *   curves), which it knows better than any re-implementation of those rules;
 * - the session id context is set explicitly (never Node's default, a hash of
 *   process.argv, which differs between processes that must share sessions).
 */
import { constants, createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateMaterial } from './certificate-material.ts';
import { cipherListFor, type TlsSettings } from './tls-settings.ts';

/** OpenSSL SSL_MAX_SID_CTX_LENGTH */
const MAX_SESSION_ID_CONTEXT = 32;

/**
 * A session id context for `name` (uWSGI uses the name itself: `http-ADDR`, the SNI name):
 * the name when it fits OpenSSL's 32 bytes, else the first 32 hex digits of its SHA-256,
 * the same in every process.
 */
export function sessionIdContextFor(name: string): string {
  if (Buffer.byteLength(name) <= MAX_SESSION_ID_CONTEXT) return name;
  return createHash('sha256').update(name).digest('hex').slice(0, MAX_SESSION_ID_CONTEXT);
}

const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION;

/**
 * The context for `material`. Throws what OpenSSL says when it refuses (a cipher list with
 * no match, a key too weak for the security level); callers turn that into a start-up
 * error or a log line.
 */
export function buildSecureContext(
  material: CertificateMaterial,
  settings: TlsSettings,
  sessionIdContext: string,
): SecureContext {
  return createSecureContext({
    cert: material.pairs.map((p) => p.certPem),
    key: material.pairs.map((p) => p.keyPem),
    ...(material.clientCaPem !== undefined ? { ca: material.clientCaPem } : {}),
    ciphers: cipherListFor(material.spec.ciphers, settings),
    minVersion: settings.minVersion,
    maxVersion: 'TLSv1.3',
    honorCipherOrder: true,
    secureOptions: SECURE_OPTIONS,
    sessionIdContext: sessionIdContextFor(sessionIdContext),
    sessionTimeout: settings.sessionTimeout,
  });
}

/**
 * Estimated memory of a built context: measured at about 26 KiB for one ECDSA P-256 pair
 * and 34 KiB for RSA-2048 + ECDSA (Node 24, OpenSSL 3.5): a base plus the parsed PEM.
 */
export function estimatedContextBytes(material: CertificateMaterial): number {
  return 24 * 1024 + 3 * material.bytes;
}
