/**
 * HTTPS listeners of the HTTP router (spec: http-router.md §9; contexts: ssl-sni-sessions.md
 * §1–4): `--https ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]` and `--https2 addr=..,cert=..,key=..`.
 * Each listener has a TLS front (src/tls/tls-front.ts: the ClientHello checked first, the
 * certificate chosen by SNI, the handshake deadline and cap, client certificates checked);
 * once the handshake completes, the TLS socket is an ordinary HTTP client connection
 * (connection.ts) that also knows:
 * - the SNI server name: the routing key when the request has no Host (spec §4: Host > SNI
 *   > hostname);
 * - its vars (spec §9): `HTTPS=on`, and with a verified client certificate
 *   `HTTPS_CLIENT_CERTIFICATE` (DER), `HTTPS_DN` (OpenSSL's one-line subject) and, with
 *   `--https-export-cert`, `HTTPS_CC` (PEM) — computed once per connection (renegotiation is
 *   refused, so the certificate cannot change);
 * - HTTP nodes get `X-Forwarded-Proto: https`.
 * Beyond uWSGI: ALPN answers `http/1.1`; a plain HTTP request sent to the HTTPS port gets a
 * 400 naming the mistake instead of a failed handshake.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/config.ts';
import { IdleSweep } from '../corerouter/idle-sweep.ts';
import type { Listener } from '../corerouter/listener.ts';
import type { ConnectionHandler, CoreRouter } from '../corerouter/router.ts';
import type { Logger } from '../logger.ts';
import { x509SubjectOneline } from '../protocol/x509-name.ts';
import { type TlsRuntime, tlsListenersFromConfig, tlsRuntimeFromConfig } from '../tls/from-config.ts';
import type { ListenerTls } from '../tls/listener-tls.ts';
import { routerFrontOptions, TlsFront, type TlsHandshakeResult } from '../tls/tls-front.ts';
import { TlsFrontStats } from '../tls/tls-front-stats.ts';
import { PLAIN_HTTP_ON_HTTPS_400 } from './error-response.ts';
import type { VarValue } from './request-vars.ts';

/** The HTTPS side of one HTTP router: its TLS runtime and listeners, in option order. */
export interface HttpsParts {
  runtime: TlsRuntime;
  listeners: readonly ListenerTls[];
  stats: TlsFrontStats;
  /** `--https-export-cert`: HTTPS_CC with the client certificate in PEM */
  exportCert: boolean;
}

/** What an HTTP connection over TLS adds to its requests. */
export interface HttpsSession {
  /** the accepted TCP socket under the TLS one (the client's address, loop detection) */
  readonly raw: Socket;
  /** the SNI server name (normalised), or null */
  readonly serverName: string | null;
  /** sent after `HTTPS=on`: HTTPS_CLIENT_CERTIFICATE, HTTPS_DN, HTTPS_CC (spec §9) */
  readonly vars: ReadonlyArray<readonly [string, VarValue]>;
}

const NO_VARS: ReadonlyArray<readonly [string, VarValue]> = [];

/** ALPN: the only application protocol this router speaks */
const ALPN = ['http/1.1'];

/**
 * `--https`/`--https2` listeners, loaded and built now (an unreadable or broken certificate
 * is a start-up error naming its file); null when there are none.
 */
export function httpsPartsFromConfig(config: Config, log: Logger): HttpsParts | null {
  if (config.all('https').length === 0 && config.all('https2').length === 0) return null;
  const runtime = tlsRuntimeFromConfig(config, log);
  return {
    runtime,
    listeners: tlsListenersFromConfig(runtime, config, 'http', log),
    stats: new TlsFrontStats(),
    exportCert: config.flag('https-export-cert'),
  };
}

/** The connection's HTTPS facts, read once when its handshake completed. */
export function httpsSessionOf(
  tls: TLSSocket,
  result: TlsHandshakeResult,
  exportCert: boolean,
): HttpsSession {
  let vars = NO_VARS;
  if (result.clientCertificate) {
    const cert = tls.getPeerX509Certificate();
    if (cert !== undefined) {
      // spec §9, uWSGI's order: the DER, the one-line subject, the PEM
      const der = cert.raw;
      const v: Array<readonly [string, VarValue]> = [['HTTPS_CLIENT_CERTIFICATE', der]];
      const dn = x509SubjectOneline(der);
      if (dn !== null) v.push(['HTTPS_DN', dn]);
      if (exportCert) v.push(['HTTPS_CC', cert.toString()]);
      vars = v;
    }
  }
  return { raw: result.raw, serverName: result.hello.serverName, vars };
}

/** Opens an HTTP connection over a TLS socket whose handshake completed. */
export type HttpsConnectionOpener = (
  tls: TLSSocket,
  session: HttpsSession,
  listener: Listener,
  core: CoreRouter,
) => void;

/**
 * The connection handler of an HTTP router whose listeners are `http` ones first
 * (`plainCount` of them), then the HTTPS ones of `parts` in order, then redirect listeners:
 * HTTPS listeners get their TLS front (built at the first connection), the others `plain`.
 */
export function httpsAwareHandler(
  parts: HttpsParts,
  plainCount: number,
  plain: ConnectionHandler,
  open: HttpsConnectionOpener,
): ConnectionHandler {
  const fronts = new WeakMap<Listener, TlsFront | null>();
  const tls = parts.runtime.settings;
  const sweep = new IdleSweep(IdleSweep.intervalFor(tls.handshakeTimeoutMs));
  const frontFor = (listener: Listener, core: CoreRouter): TlsFront | null => {
    const listenerTls = parts.listeners[core.listeners.indexOf(listener) - plainCount];
    if (listenerTls === undefined) return null;
    return new TlsFront({
      ...routerFrontOptions(core, tls, parts.stats, sweep),
      listenerTls,
      ALPNProtocols: ALPN,
      plainHttpAnswer: PLAIN_HTTP_ON_HTTPS_400,
      onSecure: (socket, result) => {
        open(socket, httpsSessionOf(socket, result, parts.exportCert), listener, core);
      },
    });
  };
  return (client, listener, core) => {
    let front = fronts.get(listener);
    if (front === undefined) {
      front = frontFor(listener, core);
      fronts.set(listener, front);
    }
    if (front === null) plain(client, listener, core);
    else front.accept(client);
  };
}
