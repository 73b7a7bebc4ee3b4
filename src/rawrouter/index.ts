/**
 * The rawrouter: TCP in, TCP out, keyed by the listening address (spec: corerouter.md §10),
 * plus PROXY protocol headers to nodes and from trusted peers (uwrouter extensions).
 */
import type { Socket } from 'node:net';
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { IdleSweep } from '../corerouter/idle-sweep.ts';
import type { Listener } from '../corerouter/listener.ts';
import { withProxyIntake } from '../corerouter/proxy-intake.ts';
import { CoreRouter } from '../corerouter/router.ts';
import { TrustedPeers } from '../corerouter/trusted-peers.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { RawrouterConnection, type RawrouterSettings, type RawrouterShared } from './connection.ts';
import { rawrouterKey } from './key.ts';

export { rawrouterKey } from './key.ts';

/** The connection handler: one key per listener, computed at its first connection. */
export function rawrouterHandler(settings: RawrouterSettings) {
  const sweep = new IdleSweep(IdleSweep.intervalFor(settings.timeoutMs));
  const shared: RawrouterShared = { ...settings, sweep, idleTicks: sweep.ticksFor(settings.timeoutMs) };
  const keys = new WeakMap<Listener, string>();
  return (client: Socket, listener: Listener, core: CoreRouter): void => {
    let key = keys.get(listener);
    if (key === undefined) {
      key = rawrouterKey(listener);
      keys.set(listener, key);
    }
    new RawrouterConnection(client, key, core, shared);
  };
}

/** `--rawrouter-enable-proxy-protocol` with its `--rawrouter-trusted-proxy` list, validated. */
function trustedProxyPeers(config: Config): TrustedPeers {
  const enabled = config.flag('rawrouter-enable-proxy-protocol');
  const list = config.all('rawrouter-trusted-proxy');
  if (enabled && list.length === 0) {
    throw new ConfigError(
      'option "--rawrouter-enable-proxy-protocol": give the peers allowed to send PROXY headers with --rawrouter-trusted-proxy (an untrusted client must not choose its own address)',
    );
  }
  if (!enabled && list.length > 0) {
    throw new ConfigError(
      'option "--rawrouter-trusted-proxy": has no effect without --rawrouter-enable-proxy-protocol',
    );
  }
  const parsed = TrustedPeers.parse(list);
  if (!parsed.ok) {
    throw new ConfigError(
      `option "--rawrouter-trusted-proxy": "${parsed.entry}" is not an IP address or CIDR range`,
    );
  }
  return parsed.value;
}

export function createRawrouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const opts = coreOptionsFromConfig(config, 'rawrouter', log, {
    ...extras,
    listen: config.all('rawrouter'),
  });
  const handler = rawrouterHandler({
    timeoutMs: opts.timeoutMs,
    proxyProtocol: config.int('rawrouter-proxy-protocol') as 0 | 1 | 2,
    xclient: config.flag('rawrouter-xclient'),
    bufferSize: config.int('rawrouter-buffer-size'),
  });
  const trusted = trustedProxyPeers(config);
  // a trusted peer's header must arrive within socket-timeout (uWSGI's wait for a new
  // connection's first bytes), else the router timeout
  const headerTimeoutMs = config.int('socket-timeout') * 1000 || opts.timeoutMs;
  return new CoreRouter(opts, withProxyIntake(handler, { trusted, timeoutMs: headerTimeoutMs }));
}
