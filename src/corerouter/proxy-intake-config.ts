/**
 * `--<router>-enable-proxy-protocol` with its `--<router>-trusted-proxy` list (rawrouter,
 * sslrouter, fastrouter; uwrouter extensions), validated once at start-up: the flag needs a
 * list (an untrusted client must not choose its own address), a list needs the flag, every
 * entry is an address or CIDR range. A trusted peer's header must arrive within
 * `socket-timeout` (uWSGI's wait for a new connection's first bytes), else the router timeout.
 */
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { ProxyIntakeSettings } from './proxy-intake.ts';
import { TrustedPeers } from './trusted-peers.ts';

export function proxyIntakeFromConfig(
  config: Config,
  router: 'rawrouter' | 'sslrouter' | 'fastrouter',
  routerTimeoutMs: number,
): ProxyIntakeSettings {
  const enabled = config.flag(`${router}-enable-proxy-protocol`);
  const list = config.all(`${router}-trusted-proxy`);
  if (enabled && list.length === 0) {
    throw new ConfigError(
      `option "--${router}-enable-proxy-protocol": give the peers allowed to send PROXY headers with --${router}-trusted-proxy (an untrusted client must not choose its own address)`,
    );
  }
  if (!enabled && list.length > 0) {
    throw new ConfigError(
      `option "--${router}-trusted-proxy": has no effect without --${router}-enable-proxy-protocol`,
    );
  }
  const parsed = TrustedPeers.parse(list);
  if (!parsed.ok) {
    throw new ConfigError(
      `option "--${router}-trusted-proxy": "${parsed.entry}" is not an IP address or CIDR range`,
    );
  }
  return { trusted: parsed.value, timeoutMs: config.int('socket-timeout') * 1000 || routerTimeoutMs };
}
