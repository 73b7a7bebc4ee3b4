/**
 * Process-wide TLS settings (the `ssl-*` options) and the secure defaults every context
 * starts from. spec: ssl-sni-sessions.md §1, http-router.md §9
 *
 * Stricter than uWSGI on purpose: TLS 1.2 is the floor (uWSGI leaves TLS 1.1 on), and the
 * default TLS 1.2 list is ECDHE with AEAD ciphers only — no RSA key exchange, no CBC/SHA-1,
 * CCM, ARIA or DHE (uWSGI uses OpenSSL's DEFAULT list unless CIPHERS is given).
 */

/** TLS 1.3 suites, named explicitly so a context never depends on the library default. */
export const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** TLS 1.2: forward secrecy (ECDHE) and AEAD only; ECDSA first (cheaper handshakes). */
export const TLS12_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:' +
  'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:' +
  'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';

/**
 * With `--ssl-enable-tlsv1`: TLS 1.0/1.1 clients only know CBC suites, and OpenSSL 3 needs
 * security level 0 to sign their handshakes with SHA-1.
 */
export const LEGACY_TLS10_CIPHERS =
  'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA';

export const DEFAULT_CIPHERS = `${TLS13_SUITES}:${TLS12_CIPHERS}`;

export interface TlsSettings {
  /** the lowest protocol version: TLS 1.2, or TLS 1.0 with `--ssl-enable-tlsv1` */
  minVersion: 'TLSv1' | 'TLSv1.2';
  /** the cipher list of contexts whose CIPHERS field is empty */
  ciphers: string;
  /** `--sni-dir-ciphers`: CIPHERS of sni-dir and subscription contexts (undefined = `ciphers`) */
  sniDirCiphers: string | undefined;
  /** `--ssl-verify-depth`: most intermediate CAs allowed in a client certificate chain */
  verifyDepth: number;
  /** `--ssl-sessions-timeout`, seconds a session stays resumable */
  sessionTimeout: number;
  /** `--ssl-tmp-dir` given: CRT/KEY/CA values starting with "-----BEGIN " are inline PEM */
  inlinePem: boolean;
  /** `--ssl-verbose`: log client certificate verification failures */
  verbose: boolean;
  /** ms a client has to send its ClientHello and finish the handshake (`--ssl-handshake-timeout`) */
  handshakeTimeoutMs: number;
  /** handshakes in progress per listener; a new one past it closes the oldest (`--ssl-max-handshakes`) */
  maxHandshakes: number;
  /** the secure-context store's bounds (LRU by count and by estimated bytes) */
  maxContexts: number;
  maxContextBytes: number;
  /** ms between checks of an sni-dir or subscription certificate's files for changes */
  recheckMs: number;
  /**
   * `--subscriptions-sni-dir`: the only directory subscription certificate files may be in
   * (after realpath); undefined = subscription certificates are refused
   */
  subscriptionsSniDir: string | undefined;
}

export const DEFAULT_TLS_SETTINGS: TlsSettings = {
  minVersion: 'TLSv1.2',
  ciphers: DEFAULT_CIPHERS,
  sniDirCiphers: undefined,
  verifyDepth: 1,
  sessionTimeout: 300,
  inlinePem: false,
  verbose: false,
  handshakeTimeoutMs: 10_000,
  maxHandshakes: 1000,
  maxContexts: 1000,
  maxContextBytes: 64 * 1024 * 1024,
  recheckMs: 5000,
  subscriptionsSniDir: undefined,
};

/** The cipher string a context is built with: the item's CIPHERS or the default. */
export function cipherListFor(ciphers: string | undefined, settings: TlsSettings): string {
  let list = ciphers !== undefined && ciphers !== '' ? ciphers : settings.ciphers;
  if (settings.minVersion === 'TLSv1') {
    if (ciphers === undefined || ciphers === '') list = `${list}:${LEGACY_TLS10_CIPHERS}`;
    if (!list.includes('@SECLEVEL=')) list = `${list}:@SECLEVEL=0`;
  }
  return list;
}
