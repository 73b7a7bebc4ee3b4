/**
 * HTTP/HTTPS router options beyond the common corerouter set.
 * spec: http-router.md §1, §5–§10
 */

import type { OptionSpec } from './config.ts';

const FLAG = { kind: 'flag', valueName: 'BOOL', group: 'http' } as const;

export const HTTP_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'http-keepalive',
    kind: 'optional-int',
    valueName: '[N]',
    group: 'http',
    min: 0,
    help:
      'keep HTTP/1.1 client connections open between requests; N > 1 also sets the idle timeout ' +
      'to N seconds. Unlike uWSGI, "true"/"yes"/"on" mean on (uwsgi-docs #445)',
  },
  {
    ...FLAG,
    name: 'http-auto-chunked',
    help: 'with keepalive, chunk-encode responses that have neither Content-Length nor Transfer-Encoding',
  },
  {
    ...FLAG,
    name: 'http-auto-gzip',
    help: 'gzip responses carrying "uWSGI-Encoding: gzip" for clients that accept gzip',
  },
  {
    ...FLAG,
    name: 'http-chunked-input',
    help:
      'stream "Transfer-Encoding: chunked" request bodies to the node still chunked (a uwsgi node ' +
      'de-chunks them; an HTTP node gets them re-chunked canonically); without it they are ' +
      'de-chunked, stored and sent with their length',
  },
  {
    ...FLAG,
    name: 'http-raw-body',
    help: 'relay every byte after the request head in both directions (tunnel mode, no keepalive)',
  },
  {
    ...FLAG,
    name: 'http-websockets',
    help: 'tunnel WebSocket upgrade requests once the node answers 101 (the node does the handshake; any other answer is a normal response)',
  },
  {
    name: 'http-manage-expect',
    kind: 'optional-int',
    valueName: '[N]',
    group: 'http',
    min: 0,
    help:
      'answer "Expect: 100-continue" with 100 Continue before connecting to the node (as uWSGI); ' +
      'with N > 1, bodies larger than N bytes get 413 instead',
  },
  {
    ...FLAG,
    name: 'http-server-name-as-http-host',
    help: 'send the Host header value as SERVER_NAME instead of the machine hostname',
  },
  {
    name: 'http-var',
    kind: 'string',
    repeatable: true,
    valueName: 'KEY=VALUE',
    group: 'http',
    help: 'append this uwsgi var to every request sent to a node',
  },
  {
    name: 'http-modifier1',
    kind: 'int',
    default: '0',
    min: 0,
    max: 255,
    valueName: 'N',
    group: 'http',
    help: "force modifier1 of requests sent to nodes (0 = the node's own); 123 = raw mode",
  },
  {
    name: 'http-modifier2',
    kind: 'int',
    default: '0',
    min: 0,
    max: 255,
    valueName: 'N',
    group: 'http',
    help: "force modifier2 of requests sent to nodes (0 = the node's own)",
  },
  {
    name: 'http-headers-timeout',
    kind: 'int',
    min: 0,
    valueName: 'SECONDS',
    group: 'http',
    help: 'close a client that has not sent a complete request head in time (default: --http-timeout)',
  },
  {
    name: 'http-connect-timeout',
    kind: 'int',
    min: 0,
    valueName: 'SECONDS',
    group: 'http',
    help: 'give up connecting to a node after this long (default: --http-timeout)',
  },
  {
    ...FLAG,
    name: 'http-enable-proxy-protocol',
    help:
      'accept a PROXY protocol v1 line before the request from any peer (uWSGI); with --http-trusted-proxy, ' +
      'connections from those peers must start with a PROXY v1 or v2 header within --socket-timeout (inside TLS on ' +
      '--https listeners) and other peers cannot send one; its source becomes REMOTE_ADDR/REMOTE_PORT',
  },
  {
    name: 'http-stud-prefix',
    kind: 'string',
    repeatable: true,
    valueName: 'IP',
    group: 'http',
    help: 'read the 5-byte stud address prefix from this TLS-offloader peer and set HTTPS=on',
    status: { refuse: 'the stud address prefix is not implemented yet in uwrouter' },
  },
  {
    ...FLAG,
    name: 'http-manage-source',
    help: 'switch Icecast SOURCE requests to tunnel mode',
  },
  {
    ...FLAG,
    name: 'http-manage-rtsp',
    help: 'route RTSP/1.0 requests by the host in rtsp://host/ URIs, in tunnel mode',
    status: { refuse: 'RTSP routing is not implemented yet in uwrouter' },
  },
  {
    name: 'https-session-context',
    kind: 'string',
    valueName: 'NAME',
    group: 'http',
    help: 'TLS session id context of the --https listeners (sessions resume only between contexts with the same one); default "uwrouter" on every node (uWSGI: "http-ADDR")',
  },
  {
    ...FLAG,
    name: 'https-export-cert',
    help: 'also send a client certificate as PEM in HTTPS_CC (HTTPS_CLIENT_CERTIFICATE, its DER, and HTTPS_DN, its subject, are always sent)',
  },
  // uwrouter extensions (not in uWSGI 2.0)
  {
    ...FLAG,
    name: 'http-silent-errors',
    help:
      'close the connection without a reply on routing/connect failures, as uWSGI does, instead ' +
      'of sending 502/503/504 error pages (uwrouter extension)',
  },
  {
    name: 'http-trusted-proxy',
    kind: 'string',
    repeatable: true,
    valueName: 'IP[/BITS]',
    group: 'http',
    help:
      'peer (address or CIDR range) whose X-Forwarded-* headers are kept (from other peers they are replaced) ' +
      'and, with --http-enable-proxy-protocol, the only peers that send PROXY v1/v2 headers (uwrouter extension)',
  },
  {
    name: 'http-max-body',
    kind: 'int',
    default: '0',
    min: 0,
    valueName: 'BYTES',
    group: 'http',
    help:
      'reject request bodies larger than this with 413 (0 = unlimited, except 1 GiB for a ' +
      'de-chunked body, which is stored; uwrouter extension)',
  },
  {
    name: 'http-max-head',
    kind: 'int',
    default: '16384',
    min: 1024,
    max: 16 * 1024 * 1024,
    valueName: 'BYTES',
    group: 'http',
    help:
      'largest request head accepted, else 431 (request line + headers; 16 KiB as Node and HAProxy; ' +
      'uWSGI: 64 KiB; uwrouter extension)',
  },
  {
    ...FLAG,
    name: 'http-auto-continue',
    default: '1',
    help:
      'answer "Expect: 100-continue" with 100 Continue when the body is wanted: once connected to ' +
      'the node (uwsgi nodes never send it; Expect is not forwarded to HTTP nodes) or before a ' +
      'chunked body is stored; =false turns it off: the client then sends its body after its own ' +
      'wait (uwrouter extension)',
  },
  {
    name: 'http-body-buffer-size',
    kind: 'int',
    default: '65536',
    min: 1024,
    max: 64 * 1024 * 1024,
    valueName: 'BYTES',
    group: 'http',
    help:
      'a chunked request body (without --http-chunked-input) is de-chunked in memory up to this ' +
      'size, then in an unlinked temporary file, before it goes to the node with its length ' +
      '(uwrouter extension)',
  },
  {
    name: 'http-body-temp-dir',
    kind: 'string',
    valueName: 'DIR',
    group: 'http',
    help:
      'directory for those temporary files (default: the system temporary directory; uwrouter ' +
      'extension)',
  },
];
