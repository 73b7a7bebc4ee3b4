/**
 * The fastrouter: uwsgi in, uwsgi out (behind nginx `uwsgi_pass`).
 */
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { CoreRouter } from '../corerouter/router.ts';
import type { Logger } from '../logger.ts';
import { fastrouterHandler } from './connection.ts';

export { readFastrouterKey } from './key.ts';

export function createFastrouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const opts = coreOptionsFromConfig(config, 'fastrouter', log, {
    ...extras,
    listen: config.all('fastrouter'),
  });
  return new CoreRouter(
    opts,
    fastrouterHandler({ timeoutMs: opts.timeoutMs, requestLog: extras.requestLog ?? null }),
  );
}
