/**
 * The package API (`import { subscribe } from 'uwrouter'`):
 * - `subscribe()`: announce a Node.js app to uwrouter or uWSGI subscription servers;
 * - `loadConfig()` / `configFromValues()` + `startRouters()`: run routers inside a process,
 *   with the same options as the command (statuses applied, errors as ConfigError);
 * - `createLogger()` / `silentLogger()` for the `log` argument.
 * The command itself is `uwrouter` (dist/cli.js); embedding does not install its signal
 * handlers: the embedding process owns its signals.
 */
export type { Config } from './config/config.ts';
export { configFromValues, type LoadedConfig, type LoadOptions, loadConfig } from './config/load.ts';
export { ConfigError, ListenError, UwrError, type UwrErrorCode } from './errors.ts';
export { createLogger, type LogFormat, type Logger, type LoggerOptions, silentLogger } from './logger.ts';
export { type RunningRouters, startRouters } from './start.ts';
export { type SubscribeOptions, subscribe } from './subscription/index.ts';
