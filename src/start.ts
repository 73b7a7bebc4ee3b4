/**
 * Builds and starts every router the configuration names; returns one handle to stop them.
 */
import type { Config } from './config/config.ts';
import type { CoreRouter } from './corerouter/router.ts';
import { ConfigError } from './errors.ts';
import { createFastrouter } from './fastrouter/index.ts';
import type { Logger } from './logger.ts';

export interface RunningRouters {
  routers: CoreRouter[];
  close(): Promise<void>;
}

export async function startRouters(config: Config, log: Logger, version: string): Promise<RunningRouters> {
  const routers: CoreRouter[] = [];
  const closers: Array<() => Promise<void>> = [];
  if (config.has('fastrouter')) {
    routers.push(createFastrouter(config, log, { version: `${version}-uwrouter` }));
  }
  if (routers.length === 0) {
    throw new ConfigError(
      'nothing to run: give a router listener such as --fastrouter ADDR (or an ini file with one); see --help',
    );
  }
  const close = async (): Promise<void> => {
    await Promise.all([...routers.map((r) => r.close()), ...closers.map((c) => c())]);
  };
  try {
    for (const r of routers) {
      await r.start();
      if (!r.mapper && r.opts.fallbacks.length === 0) {
        log.warn(
          `[uwrouter] ${r.opts.name}: no node source configured (--${r.opts.name}-to, a subscription server, …): every request will be closed`,
        );
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { routers, close };
}
