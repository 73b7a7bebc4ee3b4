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
 *   process.argv, which differs between processes that must share sessions);
 * - how sessions resume (resumption.ts): shared ticket keys, or no tickets at all.
 */
import { constants, createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateMaterial } from './certificate-material.ts';
import type { VariantBuild } from './resumption.ts';
import { cipherListFor, type TlsSettings } from './tls-settings.ts';

/** OpenSSL SSL_MAX_SID_CTX_LENGTH */
const MAX_SESSION_ID_CONTEXT = 32;

/**
 * The session id context the listeners use when `--https-session-context` /
 * `--sslrouter-session-context` is not given: one constant, so nodes started with other
 * command lines or on other addresses resume each other's sessions (uWSGI uses
 * `http-ADDR` / `sslrouter-ADDR`, which only matches on nodes listening on the same address).
 */
export const DEFAULT_SESSION_ID_CONTEXT = 'uwrouter';

/**
 * A session id context for `name` (uWSGI uses the name itself: the session context option,
 * the SNI name): the name when it fits OpenSSL's 32 bytes, else the first 32 hex digits of
 * its SHA-256, the same in every process.
 */
export function sessionIdContextFor(name: string): string {
  if (Buffer.byteLength(name) <= MAX_SESSION_ID_CONTEXT) return name;
  return createHash('sha256').update(name).digest('hex').slice(0, MAX_SESSION_ID_CONTEXT);
}

/**
 * The session id context of a context built from `material` under `name`. OpenSSL resumes a
 * session only in a context with the session's id context; that is what stops a session made
 * where client certificates are verified against one CA (or not asked for) from resuming
 * where another CA is required: with shared ticket keys and one constant name, every
 * listener could otherwise decrypt every other's tickets. So a context that asks for client
 * certificates gets the SHA-256 of the name, the policy and the CA's PEM (the same on every
 * node with the same CA file).
 */
export function sessionIdContextOf(name: string, material: CertificateMaterial): string {
  const ca = material.clientCaPem;
  if (ca === undefined || material.spec.clientCert === 'none') return sessionIdContextFor(name);
  return createHash('sha256')
    .update(`${name}\0${material.spec.clientCert}\0${ca}`)
    .digest('hex')
    .slice(0, MAX_SESSION_ID_CONTEXT);
}

const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION;
const NO_SHARING: VariantBuild = { ticketKeys: undefined, noTickets: false };

/**
 * The context for `material`. Throws what OpenSSL says when it refuses (a cipher list with
 * no match, a key too weak for the security level); callers turn that into a start-up
 * error or a log line.
 */
export function buildSecureContext(
  material: CertificateMaterial,
  settings: TlsSettings,
  sessionIdContext: string,
  variant: VariantBuild = NO_SHARING,
): SecureContext {
  return createSecureContext({
    cert: material.pairs.map((p) => p.certPem),
    key: material.pairs.map((p) => p.keyPem),
    ...(material.clientCaPem !== undefined ? { ca: material.clientCaPem } : {}),
    ciphers: cipherListFor(material.spec.ciphers, settings),
    minVersion: settings.minVersion,
    maxVersion: 'TLSv1.3',
    honorCipherOrder: true,
    secureOptions: variant.noTickets ? SECURE_OPTIONS | constants.SSL_OP_NO_TICKET : SECURE_OPTIONS,
    sessionIdContext: sessionIdContextOf(sessionIdContext, material),
    sessionTimeout: settings.sessionTimeout,
    ...(variant.ticketKeys !== undefined ? { ticketKeys: variant.ticketKeys } : {}),
  });
}

/**
 * Estimated memory of a built context: measured at about 26 KiB for one ECDSA P-256 pair
 * and 34 KiB for RSA-2048 + ECDSA (Node 24, OpenSSL 3.5): a base plus the parsed PEM.
 */
export function estimatedContextBytes(material: CertificateMaterial): number {
  return 24 * 1024 + 3 * material.bytes;
}
