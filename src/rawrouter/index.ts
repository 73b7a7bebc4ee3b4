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
import { proxyIntakeFromConfig } from '../corerouter/proxy-intake-config.ts';
import { CoreRouter } from '../corerouter/router.ts';
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
  const intake = proxyIntakeFromConfig(config, 'rawrouter', opts.timeoutMs);
  return new CoreRouter(opts, withProxyIntake(handler, intake));
}
