/**
 * The subscription system's public API (spec: subscription.md). Routers use
 * `SubscriptionSystem` (or `createSubscriptionSystemFromConfig`); a Node.js app announces
 * itself to a router with `subscribe()`.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { Subscriber } from './client.ts';
import type { SubscriptionTarget } from './client-spec.ts';

export { createBalancer, SUBSCRIPTION_ALGOS, type SubscriptionAlgo } from './balancers.ts';
export { Subscriber, type SubscriberOptions } from './client.ts';
export { parseMapFile, parseSubscribe2, parseSubscribeTo, type SubscriptionTarget } from './client-spec.ts';
export { SubscriptionLease, SubscriptionMapper, type SubscriptionMapperOptions } from './mapper.ts';
export { SubscriptionNode } from './node.ts';
export { OwnAddresses } from './own-addresses.ts';
export { SubscriptionPool } from './pool.ts';
export {
  type DatagramOutcome,
  REJECT_REASONS,
  type RejectReason,
  type SubscriptionCounters,
  SubscriptionReceiver,
} from './receiver.ts';
export { SignedHistory } from './replay.ts';
export {
  parseUdpEndpoint,
  SUBSCRIPTION_RCVBUF_DEFAULT,
  SUBSCRIPTION_RECV_SIZE,
  SubscriptionServer,
} from './server.ts';
export {
  normalizeDigest,
  PublicKeyStore,
  parseSignCheck,
  type SignCheck,
  sanitizeKeyFileName,
} from './signatures.ts';
export { SubscriptionCountersStats, SubscriptionsStats } from './stats.ts';
export {
  createSubscriberFromConfig,
  createSubscriptionSystemFromConfig,
  SubscriptionSystem,
  type SubscriptionSystemOptions,
} from './system.ts';
export {
  type SubscriptionClock,
  SubscriptionTable,
  type SubscriptionTableOptions,
  systemClock,
} from './table.ts';

export interface SubscribeOptions {
  /** the router's subscription server, `127.0.0.1:2626` or `[::1]:2626` */
  server: string;
  key: string;
  /** this app's address as the router should connect to it (`127.0.0.1:3000`, `http://127.0.0.1:3000`) */
  address: string;
  weight?: number;
  modifier1?: number;
  modifier2?: number;
  /** RSA signing: digest (`sha256`) and a private key (PEM text/Buffer or KeyObject) */
  sign?: { digest: string; privateKey: string | Buffer | KeyObject };
  /** `http` → the router speaks HTTP to this node (2.1 `proto`) */
  proto?: string;
  backup?: number;
  /** announce period in seconds, default 10 */
  freq?: number;
}

/**
 * Announces one node to a router now, at +1 s and every `freq` s; `stop()` sends the
 * unsubscribe. Timers are unref'd (they do not keep the process alive).
 *
 * ```ts
 * const sub = subscribe({ server: '127.0.0.1:2626', key: 'example.com', address: '127.0.0.1:3000' });
 * process.on('SIGTERM', () => sub.stop().then(() => process.exit(0)));
 * ```
 */
export function subscribe(opts: SubscribeOptions): { stop(): Promise<void> } {
  const target: SubscriptionTarget = {
    server: opts.server,
    key: opts.key,
    address: opts.address,
    weight: opts.weight,
    modifier1: opts.modifier1,
    modifier2: opts.modifier2,
    backup: opts.backup,
    proto: opts.proto,
  };
  const sub = new Subscriber({ targets: [target], freq: opts.freq });
  if (opts.sign) {
    const k = opts.sign.privateKey;
    sub.setSigning(
      0,
      opts.sign.digest,
      typeof k === 'string' || Buffer.isBuffer(k) ? createPrivateKey(k) : k,
    );
  }
  sub.start();
  return { stop: () => sub.stop() };
}
