/**
 * Subscription server options (global, shared by every router's subscription server) and
 * the subscribe client options a node (or a federating router) uses.
 * spec: subscription.md §3–§9
 */

import type { OptionSpec } from './config.ts';

/** spec: subscription.md — credentials come with UNIX datagram sockets, which Node.js lacks */
const NO_CREDENTIALS =
  "needs the sender's credentials from a UNIX datagram subscription socket, which Node.js cannot receive";

export const SUBSCRIPTION_ALGOS = ['wrr', 'lrc', 'wlrc', 'iphash'] as const;

export const SUBSCRIPTION_SERVER_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'subscription-algo',
    kind: 'string',
    choices: SUBSCRIPTION_ALGOS,
    default: 'wrr',
    valueName: 'ALGO',
    group: 'subscription',
    help:
      'how a node is picked in a subscription pool: wrr (weighted round robin), lrc (least ' +
      'references), wlrc (weighted lrc), iphash (client address hash; uwrouter extension)',
  },
  {
    name: 'subscription-dotsplit',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'subscription',
    help: 'if a key has no pool, try its ".suffix" forms (www.a.com → .a.com → .com); nodes subscribe ".a.com"',
  },
  {
    name: 'subscription-tolerance',
    kind: 'int',
    default: '17',
    min: 0,
    valueName: 'SECONDS',
    group: 'subscription',
    help: 'mark a node failed when no announce arrived for this long',
  },
  // uwrouter extensions (not in uWSGI 2.0)
  {
    name: 'subscription-max-keys',
    kind: 'int',
    default: '100000',
    min: 0,
    valueName: 'N',
    group: 'subscription',
    help:
      'most subscribed keys (pools) at once; an announce for a new key past it is refused and counted ' +
      'as too-many-keys in the stats (0 = no limit; uwrouter extension)',
  },
  {
    name: 'subscription-max-nodes',
    kind: 'int',
    default: '1024',
    min: 0,
    valueName: 'N',
    group: 'subscription',
    help:
      'most nodes in one pool; an announce for a new node of a full pool is refused and counted as ' +
      'too-many-nodes (0 = no limit; uwrouter extension)',
  },
  {
    name: 'subscription-rcvbuf',
    kind: 'int',
    default: '4194304',
    min: 0,
    valueName: 'BYTES',
    group: 'subscription',
    help:
      'receive buffer asked for each subscription server socket, so a burst of announcements is not ' +
      'dropped by the kernel; Linux caps it at net.core.rmem_max (a log line says so when it does); ' +
      '0 = the system default (uwrouter extension)',
  },
  {
    name: 'subscriptions-sign-check',
    kind: 'string',
    repeatable: true,
    valueName: 'DIGEST:DIR',
    group: 'subscription',
    help: 'require RSA-signed subscriptions, verified with DIGEST (e.g. sha256) and DIR/<key>.pem public keys',
  },
  {
    name: 'subscriptions-sign-check-tolerance',
    kind: 'int',
    default: '86400',
    min: 0,
    valueName: 'SECONDS',
    group: 'subscription',
    help:
      'refuse signed packets whose timestamp is older (or further ahead) than this, and remember ' +
      'accepted timestamps this long: each signed packet must be newer than the last of its key and ' +
      'node, so none is accepted twice (replay guard)',
  },
  {
    name: 'subscriptions-sign-skip-uid',
    kind: 'string',
    repeatable: true,
    valueName: 'UID',
    group: 'subscription',
    help: 'skip signature checks for packets from this uid (needs --subscriptions-use-credentials)',
    status: { refuse: NO_CREDENTIALS },
  },
  {
    name: 'subscriptions-use-credentials',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'subscription',
    help: 'read sender pid/uid/gid on UNIX-socket subscription servers',
    status: { refuse: NO_CREDENTIALS },
  },
  {
    name: 'subscriptions-credentials-check',
    kind: 'string',
    repeatable: true,
    valueName: 'DIR',
    group: 'subscription',
    help: 'accept a UNIX-socket subscription only if DIR+key exists and is owned by the sender uid/gid',
    status: { refuse: NO_CREDENTIALS },
  },
];

export const SUBSCRIPTION_CLIENT_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'subscribe-to',
    aliases: ['subscribe', 'st'],
    kind: 'string',
    repeatable: true,
    valueName: '[ADDR=]SERVER:KEY[,MOD1[,DIGEST:KEYFILE]]',
    group: 'subscribe',
    help: 'announce this instance as a node for KEY to the subscription server SERVER (SERVER:@FILE = key list)',
  },
  {
    name: 'subscribe2',
    kind: 'string',
    repeatable: true,
    valueName: 'server=..,key=..',
    group: 'subscribe',
    help: 'like --subscribe-to in key=value form: server, key, addr, socket, weight, modifier1, modifier2, sign, check, sni_key, sni_crt, sni_ca',
  },
  {
    name: 'subscribe-freq',
    kind: 'int',
    default: '10',
    min: 1,
    valueName: 'SECONDS',
    group: 'subscribe',
    help: 'seconds between announces (keep it below the server --subscription-tolerance)',
  },
  {
    name: 'weight',
    kind: 'int',
    default: '0',
    min: 0,
    valueName: 'N',
    group: 'subscribe',
    help: 'weight announced to subscription servers (0 counts as 1)',
  },
  {
    name: 'auto-weight',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'subscribe',
    help: 'announce processes × cores as the weight',
    status: {
      warn: 'it counts app workers (processes × cores), which a router has none of (uWSGI gateway-only instances announce 0 too): uwrouter announces --weight (0 counts as 1)',
    },
  },
  {
    name: 'subscribe-with-modifier1',
    kind: 'int',
    min: 0,
    max: 255,
    valueName: 'N',
    group: 'subscribe',
    help: 'modifier1 announced when a --subscribe-to item gives none',
  },
  {
    name: 'subscription-notify-socket',
    kind: 'string',
    valueName: 'PATH',
    group: 'subscribe',
    help: 'ask subscription servers to send a "new node" ack to this UNIX datagram path',
    status: { refuse: 'Node.js cannot receive on UNIX datagram sockets, so no ack would ever arrive' },
  },
  {
    name: 'start-unsubscribed',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'subscribe',
    help: 'configure subscriptions but send nothing until they are re-enabled',
    status: {
      refuse:
        "not implemented yet: uwrouter has no way to enable them later (uWSGI's master FIFO), so it would announce at once",
    },
  },
  {
    name: 'unsubscribe-on-graceful-reload',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'subscribe',
    help: 'also unsubscribe on a graceful reload (always done on shutdown)',
    status: {
      noop: 'a reload keeps the primary process and its listening sockets, so what uwrouter announced stays true; it unsubscribes when it stops',
    },
  },
];
