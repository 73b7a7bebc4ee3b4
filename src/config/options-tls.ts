/**
 * TLS context options shared by https, sslrouter and SNI items.
 * spec: ssl-sni-sessions.md §1–§5
 */

import type { OptionSpec } from './config.ts';

const SNI_NOT_YET = 'SNI contexts come with TLS support, not implemented yet in uwrouter';
const NO_TLS_YET = 'no effect until TLS listeners exist in uwrouter';

export const TLS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'sni',
    kind: 'string',
    repeatable: true,
    valueName: '"NAME CRT,KEY[,CIPHERS[,CLIENT_CA]]"',
    group: 'tls',
    status: { refuse: SNI_NOT_YET },
    help: 'serve this certificate to TLS clients asking for server name NAME (exact match)',
  },
  {
    name: 'sni-regexp',
    kind: 'string',
    repeatable: true,
    valueName: '"REGEXP CRT,KEY[,CIPHERS[,CLIENT_CA]]"',
    group: 'tls',
    status: { refuse: SNI_NOT_YET },
    help: 'serve this certificate to server names matching REGEXP (tried after exact --sni names)',
  },
  {
    name: 'sni-dir',
    kind: 'string',
    valueName: 'DIR',
    group: 'tls',
    status: { refuse: SNI_NOT_YET },
    help: 'for an unknown server name NAME, load DIR/NAME.crt, DIR/NAME.key (and optional DIR/NAME.ca)',
  },
  {
    name: 'sni-dir-ciphers',
    kind: 'string',
    valueName: 'CIPHERS',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'cipher list for --sni-dir and subscription-created certificates',
  },
  {
    name: 'ssl-verify-depth',
    kind: 'int',
    default: '1',
    min: 0,
    max: 100,
    valueName: 'N',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'maximum client certificate chain depth',
  },
  {
    name: 'ssl-sessions-timeout',
    kind: 'int',
    default: '300',
    min: 0,
    valueName: 'SECONDS',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'lifetime of TLS sessions for resumption',
  },
  {
    name: 'ssl-enable3',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'allow SSLv3 (insecure; OpenSSL 3 builds refuse it anyway)',
  },
  {
    name: 'ssl-enable-tlsv1',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'allow TLS 1.0 (insecure; only for legacy clients)',
  },
  {
    name: 'ssl-tmp-dir',
    kind: 'string',
    valueName: 'DIR',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'write inline PEM certificates/keys ("-----BEGIN ...") to files in DIR before loading them',
  },
  {
    name: 'ssl-verbose',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'log client certificate verification failures and session cache misses',
  },
  {
    name: 'ssl-sessions-use-cache',
    aliases: ['ssl-session-use-cache'],
    kind: 'string',
    implicit: '',
    valueName: 'NAME',
    group: 'tls',
    status: { warn: NO_TLS_YET },
    help: 'store TLS sessions in the cache NAME (no value = the first cache) so router processes share them',
  },
];
