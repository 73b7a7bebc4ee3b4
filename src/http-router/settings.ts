/**
 * The HTTP router's per-process settings, read once from the configuration (spec:
 * http-router.md §5–§10) so the per-request path only reads plain fields.
 */
import { hostname, tmpdir } from 'node:os';
import type { Config } from '../config/config.ts';
import { bodyStoreDir, MAX_STORED_BODY } from '../corerouter/stored-body.ts';
import { TrustedPeers } from '../corerouter/trusted-peers.ts';
import { ConfigError } from '../errors.ts';
import type { HttpHeadOptions } from '../protocol/http-request-head.ts';
import { parseHttpVar } from './request-vars.ts';

export interface HttpRouterSettings {
  /** options for every HttpRequestHeadReader (one shared object) */
  readonly head: HttpHeadOptions;
  readonly timeoutMs: number;
  /** absolute deadline for a request head, from its first byte (`http-headers-timeout`) */
  readonly headersTimeoutMs: number;
  /** `http-keepalive`: 0 = off */
  readonly keepalive: boolean;
  /** idle time allowed between requests on a kept-alive connection */
  readonly keepaliveIdleMs: number;
  readonly autoChunked: boolean;
  readonly autoGzip: boolean;
  readonly chunkedInput: boolean;
  readonly rawBody: boolean;
  readonly websockets: boolean;
  readonly manageSource: boolean;
  /** `http-manage-expect`: 0 = off, 1 = always 100, N > 1 = 413 above N bytes */
  readonly manageExpect: number;
  /** `http-max-body`: 0 = unlimited */
  readonly maxBody: number;
  /** `http-auto-continue`: 100 Continue when an expecting body starts going to a uwsgi node */
  readonly autoContinue: boolean;
  /** de-chunked request bodies: bytes kept in memory before the temporary file */
  readonly bodyBufferSize: number;
  /** where those temporary files are created (and unlinked at once) */
  readonly bodyTempDir: string;
  /** the largest de-chunked body stored: `http-max-body`, or MAX_STORED_BODY when that is 0 */
  readonly maxStoredBody: number;
  readonly silentErrors: boolean;
  /** SERVER_NAME and the key when there is no Host (spec §2 #8, §4) */
  readonly hostname: string;
  readonly serverNameAsHttpHost: boolean;
  readonly extraVars: ReadonlyArray<readonly [string, string]>;
  readonly modifier1: number;
  readonly modifier2: number;
  /** `http-trusted-proxy`: X-Forwarded-* kept from these peers; PROXY headers read from them */
  readonly trusted: TrustedPeers;
  /**
   * `http-enable-proxy-protocol` with `http-trusted-proxy` peers: every connection from them
   * starts with a PROXY v1 or v2 header (corerouter/proxy-intake.ts), others never send one.
   * Without trusted peers the head parser reads uWSGI's optional v1 line from any peer.
   */
  readonly proxyFromTrusted: boolean;
  /** `http-to-https` listeners in option order: [ADDR, PORT (null = none given)] */
  readonly redirects: ReadonlyArray<readonly [string, string | null]>;
  /** idle keep-alive connections kept per HTTP node, and how long */
  readonly nodePoolSize: number;
  readonly nodePoolIdleMs: number;
}

export function httpSettingsFromConfig(config: Config): HttpRouterSettings {
  const timeoutMs = config.int('http-timeout') * 1000;
  const ka = config.int('http-keepalive');
  const extraVars = config.all('http-var').map((item) => {
    const kv = parseHttpVar(item);
    if (!kv) throw new ConfigError(`option "--http-var": "${item}" is not KEY=VALUE`);
    return kv;
  });
  const trusted = TrustedPeers.parse(config.all('http-trusted-proxy'));
  if (!trusted.ok) {
    throw new ConfigError(
      `option "--http-trusted-proxy": "${trusted.entry}" is not an IP address or CIDR range`,
    );
  }
  const redirects: Array<readonly [string, string | null]> = [];
  for (const item of config.all('http-to-https')) {
    // ADDR[,PORT] (spec §9); a UNIX path has no comma either
    const comma = item.lastIndexOf(',');
    const addr = comma < 0 ? item : item.slice(0, comma);
    const port = comma < 0 ? null : item.slice(comma + 1);
    if (port !== null && !/^\d{1,5}$/.test(port)) {
      throw new ConfigError(`option "--http-to-https": "${item}": PORT must be a number`);
    }
    redirects.push([addr, port]);
  }
  const proxyProtocol = config.flag('http-enable-proxy-protocol') || config.flag('enable-proxy-protocol');
  const proxyFromTrusted = proxyProtocol && trusted.value.size > 0;
  return {
    head: {
      maxHeadSize: config.int('http-max-head'),
      // spec §1: uWSGI's v1 line, from any peer, when no peer is trusted for it
      proxyProtocol: proxyProtocol && !proxyFromTrusted,
      chunkedInput: config.flag('http-chunked-input'),
    },
    timeoutMs,
    headersTimeoutMs: config.has('http-headers-timeout')
      ? config.int('http-headers-timeout') * 1000
      : timeoutMs,
    keepalive: ka > 0,
    // spec §7: N > 1 sets the idle timeout; plain on keeps the router timeout
    keepaliveIdleMs: ka > 1 ? ka * 1000 : timeoutMs,
    autoChunked: config.flag('http-auto-chunked'),
    autoGzip: config.flag('http-auto-gzip'),
    chunkedInput: config.flag('http-chunked-input'),
    rawBody: config.flag('http-raw-body'),
    websockets: config.flag('http-websockets'),
    manageSource: config.flag('http-manage-source'),
    manageExpect: config.int('http-manage-expect'),
    maxBody: config.int('http-max-body'),
    autoContinue: config.flag('http-auto-continue'),
    bodyBufferSize: config.int('http-body-buffer-size'),
    bodyTempDir: bodyStoreDir('http-body-temp-dir', config.str('http-body-temp-dir') ?? tmpdir()),
    maxStoredBody: config.int('http-max-body') > 0 ? config.int('http-max-body') : MAX_STORED_BODY,
    silentErrors: config.flag('http-silent-errors'),
    hostname: hostname(),
    serverNameAsHttpHost: config.flag('http-server-name-as-http-host'),
    extraVars,
    modifier1: config.int('http-modifier1'),
    modifier2: config.int('http-modifier2'),
    trusted: trusted.value,
    proxyFromTrusted,
    redirects,
    nodePoolSize: 64,
    nodePoolIdleMs: Math.min(timeoutMs || 60_000, 30_000),
  };
}

/**
 * The listening addresses, in the order the router binds them: `http`, then the HTTPS
 * listeners' addresses (`https`, `https2`: https.ts), then the `http-to-https` redirects.
 */
export function httpListenAddresses(
  config: Config,
  settings: HttpRouterSettings,
  httpsAddresses: readonly string[] = [],
): string[] {
  return [...config.all('http'), ...httpsAddresses, ...settings.redirects.map(([addr]) => addr)];
}
