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
  | 'UWR_ERR_LISTEN';

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
