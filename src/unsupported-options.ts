/**
 * uWSGI options the registry accepts (so real uWSGI configs load) but uwrouter does not
 * act on yet. Nothing is skipped silently: each is a start-up error when running without
 * it would route traffic wrongly, else one warning line.
 */
import type { Config } from './config/config.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './logger.ts';

const ROUTERS = ['fastrouter', 'http', 'rawrouter', 'sslrouter'] as const;

/** Listeners of routers that do not exist yet: refusing beats a port that never opens. */
const NOT_YET_ROUTERS: ReadonlyArray<[string, string]> = [
  ['sslrouter', 'the sslrouter is not implemented yet in uwrouter'],
  ['sslrouter2', 'the sslrouter is not implemented yet in uwrouter'],
  ['sni', 'SNI contexts come with TLS support, not implemented yet in uwrouter'],
  ['sni-regexp', 'SNI contexts come with TLS support, not implemented yet in uwrouter'],
  ['sni-dir', 'SNI contexts come with TLS support, not implemented yet in uwrouter'],
  ['cache2', 'the uWSGI cache is not implemented yet in uwrouter'],
];

/** TLS settings with no TLS listener to apply them to yet. */
const TLS_SETTINGS = [
  'sni-dir-ciphers',
  'ssl-verify-depth',
  'ssl-sessions-timeout',
  'ssl-enable3',
  'ssl-enable-tlsv1',
  'ssl-tmp-dir',
  'ssl-verbose',
  'ssl-sessions-use-cache',
];

export function checkUnsupportedOptions(config: Config, log: Logger): void {
  for (const [option, why] of NOT_YET_ROUTERS) {
    if (config.has(option)) throw new ConfigError(`option "--${option}": ${why}`);
  }
  for (const r of ROUTERS) {
    const zerg = `${r}-zerg`;
    if (config.isKnown(zerg) && config.has(zerg)) {
      throw new ConfigError(
        `option "--${zerg}": zerg servers pass listening sockets with SCM_RIGHTS, which Node.js cannot receive`,
      );
    }
    const warn = (option: string, what: string): void => {
      if (config.isKnown(option) && config.has(option)) log.warn(`[uwrouter] --${option}: ${what}`);
    };
    if (config.isKnown(`${r}-processes`) && config.int(`${r}-processes`) > 1) {
      log.warn(
        `[uwrouter] --${r}-processes ${config.int(`${r}-processes`)}: uwrouter runs one process per router for now`,
      );
    }
    if (config.isKnown(`${r}-harakiri`) && config.int(`${r}-harakiri`) > 0) {
      log.warn(`[uwrouter] --${r}-harakiri: no effect (one process, nothing to kill and respawn)`);
    }
    warn(`${r}-uid`, 'privilege dropping is not implemented: start uwrouter as the user it should run as');
    warn(`${r}-gid`, 'privilege dropping is not implemented: start uwrouter as the group it should run as');
  }
  for (const o of TLS_SETTINGS) {
    if (config.has(o)) log.warn(`[uwrouter] --${o}: no effect until TLS listeners exist in uwrouter`);
  }
  if (config.has('fastrouter-post-buffering')) {
    log.warn(
      '[uwrouter] --fastrouter-post-buffering: not implemented; request bodies are streamed to the node',
    );
  }
}
