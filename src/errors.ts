/**
 * One error class per failure, each with a stable `code` (STYLE.md: undici-style errors).
 * Logs and stats count failures by `code`.
 */

export type UwrErrorCode =
  | 'UWR_ERR_CONFIG'
  | 'UWR_ERR_BAD_PACKET'
  | 'UWR_ERR_PACKET_TOO_LARGE'
  | 'UWR_ERR_NO_KEY'
  | 'UWR_ERR_NO_NODE'
  | 'UWR_ERR_CONNECT'
  | 'UWR_ERR_CONNECT_TIMEOUT'
  | 'UWR_ERR_TIMEOUT'
  | 'UWR_ERR_CLIENT_CLOSED'
  | 'UWR_ERR_BACKEND_CLOSED'
  /** a node's response is not valid HTTP/1.x (or it closed before its head ended) */
  | 'UWR_ERR_BAD_RESPONSE'
  /** the request came back to the router that sent it (Via token, self-connection) */
  | 'UWR_ERR_LOOP_DETECTED'
  /** a request Transfer-Encoding other than `chunked` alone */
  | 'UWR_ERR_NOT_IMPLEMENTED'
  | 'UWR_ERR_SIGNATURE'
  | 'UWR_ERR_REPLAY'
  | 'UWR_ERR_BAD_SUBSCRIPTION'
  | 'UWR_ERR_BAD_REQUEST'
  | 'UWR_ERR_HEADERS_TOO_LARGE'
  | 'UWR_ERR_BODY_TOO_LARGE'
  /** a well-formed request the router does not serve: CONNECT, HTTP/2+, an Expect, a coding */
  | 'UWR_ERR_NOT_SUPPORTED'
  /** a de-chunked request body could not be kept (temporary file not created or written) */
  | 'UWR_ERR_BODY_STORE'
  | 'UWR_ERR_PROXY_HEADER'
  | 'UWR_ERR_XCLIENT'
  /** the first bytes on a TLS port are not a TLS handshake (plain HTTP, SSLv2, a scanner) */
  | 'UWR_ERR_NOT_TLS'
  /** a ClientHello that does not parse (bad lengths, a server name that is not a host name) */
  | 'UWR_ERR_TLS_HELLO'
  /** a certificate could not be loaded or built into a context (the file is named) */
  | 'UWR_ERR_TLS_CONTEXT'
  /** the TLS handshake failed after the ClientHello (no shared version or cipher, an alert) */
  | 'UWR_ERR_TLS_HANDSHAKE'
  /** the handshake did not complete within --ssl-handshake-timeout */
  | 'UWR_ERR_TLS_HANDSHAKE_TIMEOUT'
  /** a client certificate that is required and absent, or sent and not verified */
  | 'UWR_ERR_TLS_CLIENT_CERT'
  /** --ssl-max-handshakes handshakes were already in progress on the listener */
  | 'UWR_ERR_TLS_BUSY'
  /** a subscription named certificate files outside --subscriptions-sni-dir (or without it) */
  | 'UWR_ERR_SNI_PATH'
  | 'UWR_ERR_LISTEN'
  /** a step once the sockets are bound failed: pidfile, privilege drop, --logto2 */
  | 'UWR_ERR_PROCESS_SETUP';

export class UwrError extends Error {
  readonly code: UwrErrorCode;
  constructor(code: UwrErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'UwrError';
  }
}

/** A bad option or option value; the message names the option (and a suggestion). */
export class ConfigError extends UwrError {
  constructor(message: string) {
    super('UWR_ERR_CONFIG', message);
    this.name = 'ConfigError';
  }
}

/** A listener could not be created (address in use, bad path, …). */
export class ListenError extends UwrError {
  constructor(message: string, options?: ErrorOptions) {
    super('UWR_ERR_LISTEN', message, options);
    this.name = 'ListenError';
  }
}

/** A step once the sockets are bound (pidfile, privilege drop, --logto2) failed; the message says which. */
export class ProcessSetupError extends UwrError {
  constructor(message: string) {
    super('UWR_ERR_PROCESS_SETUP', message);
    this.name = 'ProcessSetupError';
  }
}
