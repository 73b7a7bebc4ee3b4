/**
 * Router listeners and the options only one router has; the common X-* options are
 * generated in options-corerouter.ts.
 */

import type { OptionSpec } from './config.ts';

const TLS_LISTEN = 'ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]';

/** Listening sockets of each router (all repeatable). spec: corerouter.md §2, §6 */
export const LISTENERS: readonly OptionSpec[] = [
  {
    name: 'fastrouter',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: 'ADDR',
    group: 'fastrouter',
    help: 'listen for uwsgi-protocol clients (e.g. nginx uwsgi_pass) on ip:port, UNIX path, =N or fd://N',
  },
  {
    name: 'rawrouter',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: 'ADDR',
    group: 'rawrouter',
    help: 'listen for raw TCP clients on ip:port, UNIX path, =N or fd://N; the address is the key',
  },
  {
    name: 'sslrouter',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: TLS_LISTEN,
    group: 'sslrouter',
    help: 'listen for TLS clients, terminate TLS with CRT/KEY and relay the plaintext to a node connected once the handshake completes (CLIENT_CA "!"-prefixed = required, else optional)',
  },
  {
    name: 'sslrouter2',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: 'addr=..,cert=..,key=..',
    group: 'sslrouter',
    help: 'like --sslrouter in key=value form: addr, cert|crt, key, ciphers, clientca|client_ca',
  },
  {
    name: 'http',
    aliases: ['httprouter'],
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: 'ADDR',
    group: 'http',
    help: 'listen for HTTP clients on ip:port, UNIX path, =N or fd://N',
  },
  {
    name: 'https',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: TLS_LISTEN,
    group: 'http',
    help: 'listen for HTTPS clients with this certificate chain and key; CLIENT_CA asks for client certificates ("!"-prefixed = required, else optional) and their subject reaches nodes as HTTPS_DN',
  },
  {
    name: 'https2',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: 'addr=..,cert=..,key=..',
    group: 'http',
    help: 'like --https in key=value form: addr, cert|crt, key, ciphers, clientca|client_ca (spdy is accepted and ignored with a warning: SPDY is not implemented)',
  },
  {
    name: 'http-to-https',
    kind: 'string',
    repeatable: true,
    listener: true,
    valueName: 'ADDR[,PORT]',
    group: 'http',
    help: 'listen for HTTP clients and answer every request with a 301 to https://HOST[:PORT]URI',
  },
];

/** Options only one router has. spec: corerouter.md §2, §10; ssl-sni-sessions.md §2 */
export const ROUTER_SPECIFIC: readonly OptionSpec[] = [
  {
    name: 'fastrouter-fallback-on-no-key',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'fastrouter',
    help: 'use the --fastrouter-fallback nodes when the key maps to no node',
  },
  {
    name: 'fastrouter-post-buffering',
    kind: 'int',
    default: '0',
    min: 0,
    max: 64 * 1024 * 1024,
    valueName: 'BYTES',
    group: 'fastrouter',
    help:
      'read a CONTENT_LENGTH request body whole before choosing and connecting to a node, in memory ' +
      'up to this many bytes (at most 64 MiB), past it in an unlinked temporary file (up to ' +
      '--fastrouter-max-body), so a slow upload never holds a node connection (0 = stream the body)',
  },
  {
    name: 'fastrouter-max-body',
    kind: 'int',
    default: '0',
    min: 0,
    valueName: 'BYTES',
    group: 'fastrouter',
    help:
      'with --fastrouter-post-buffering: close requests whose CONTENT_LENGTH is larger than this, ' +
      'before storing a byte (0 = 1 GiB; uwrouter extension)',
  },
  {
    name: 'fastrouter-post-buffering-dir',
    kind: 'string',
    valueName: 'DIR',
    group: 'fastrouter',
    help:
      'directory for the temporary files of --fastrouter-post-buffering (default: the system temporary ' +
      'directory; uWSGI ignores this option and uses TMPDIR)',
  },
  {
    name: 'fastrouter-resubscribe-bind',
    kind: 'string',
    valueName: 'ADDR',
    group: 'fastrouter',
    help: 'source ip:port for packets sent to --fastrouter-resubscribe servers',
  },
  {
    name: 'rawrouter-xclient',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'rawrouter',
    help: 'send "XCLIENT ADDR=<client ip>" to the node after its greeting (SMTP proxies)',
  },
  // fastrouter: uwrouter extensions (not in uWSGI 2.0)
  {
    name: 'fastrouter-enable-proxy-protocol',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'fastrouter',
    help: 'connections from --fastrouter-trusted-proxy peers must start with a PROXY protocol v1 or v2 header (within --socket-timeout); its source replaces REMOTE_ADDR/REMOTE_PORT in the vars sent to the node (uwrouter extension)',
  },
  {
    name: 'fastrouter-trusted-proxy',
    kind: 'string',
    repeatable: true,
    valueName: 'IP[/BITS]',
    group: 'fastrouter',
    help: 'peer (address or CIDR range) that sends PROXY protocol headers to the fastrouter; other peers are served as they are (uwrouter extension)',
  },
  // rawrouter: uwrouter extensions (not in uWSGI 2.0)
  {
    name: 'rawrouter-proxy-protocol',
    kind: 'int',
    default: '0',
    min: 0,
    max: 2,
    valueName: 'VERSION',
    group: 'rawrouter',
    help: 'start every node connection with a PROXY protocol header naming the client: 1 = text (v1), 2 = binary (v2), 0 = none (uwrouter extension)',
  },
  {
    name: 'rawrouter-enable-proxy-protocol',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'rawrouter',
    help: 'connections from --rawrouter-trusted-proxy peers must start with a PROXY protocol v1 or v2 header; its source becomes the client (uwrouter extension)',
  },
  {
    name: 'rawrouter-trusted-proxy',
    kind: 'string',
    repeatable: true,
    valueName: 'IP[/BITS]',
    group: 'rawrouter',
    help: 'peer (address or CIDR range) that sends PROXY protocol headers to the rawrouter; other peers are relayed as they are (uwrouter extension)',
  },
  {
    name: 'sslrouter-sni',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'sslrouter',
    help: 'use the TLS SNI server name (lower-cased) as the key; clients that send none keep the listening address as the key',
  },
  {
    name: 'sslrouter-session-context',
    kind: 'string',
    valueName: 'NAME',
    group: 'sslrouter',
    help: 'TLS session id context (sessions resume only between contexts with the same one); default "uwrouter" on every node (uWSGI: "sslrouter-ADDR")',
  },
  // sslrouter: uwrouter extensions (not in uWSGI 2.0)
  {
    name: 'sslrouter-proxy-protocol',
    kind: 'int',
    default: '0',
    min: 0,
    max: 2,
    valueName: 'VERSION',
    group: 'sslrouter',
    help: 'start every node connection with a PROXY protocol header naming the client: 1 = text (v1), 2 = binary (v2, with the SNI name and the TLS version, cipher and client certificate CN as TLVs), 0 = none (uwrouter extension)',
  },
  {
    name: 'sslrouter-enable-proxy-protocol',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'sslrouter',
    help: 'connections from --sslrouter-trusted-proxy peers must start with a PROXY protocol v1 or v2 header before the TLS handshake; its source becomes the client (uwrouter extension)',
  },
  {
    name: 'sslrouter-trusted-proxy',
    kind: 'string',
    repeatable: true,
    valueName: 'IP[/BITS]',
    group: 'sslrouter',
    help: 'peer (address or CIDR range) that sends PROXY protocol headers to the sslrouter; other peers are served as they are (uwrouter extension)',
  },
];
