/**
 * What a reload (SIGHUP, --touch-reload) checks before anything changes: the configuration
 * is read again (argv and the ini files, relative to the start directory) and checked as at
 * start; an invalid one, a `--chdir` that is not a directory, or a changed start-only option
 * (caches, instance stats, process files, privileges) refuses the reload with one error line,
 * and the running configuration stays. spec: README item 10 (reload).
 */
import type { Config } from '../config/config.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type CheckedConfig, checkConfig, isDirectory } from './config-check.ts';
import { changedStartOnlyOptions } from './instance-services.ts';
import { oneLine } from './router-runtime.ts';

export interface ReloadSource {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** where relative ini paths resolve (the directory uwrouter started in) */
  cwd: string;
}

/** The checked new configuration, or undefined when the reload is refused (logged). */
export function checkReload(source: ReloadSource, running: Config, log: Logger): CheckedConfig | undefined {
  const refuse = (why: string): undefined => {
    log.error(`[uwrouter] reload refused, still running the previous configuration: ${why}`);
    return undefined;
  };
  let checked: CheckedConfig;
  try {
    const loaded = loadConfig(source.argv, source.env, { cwd: source.cwd });
    checked = checkConfig(loaded.config, log);
    const dir = checked.settings.chdir;
    if (dir !== undefined && !isDirectory(dir)) {
      throw new ConfigError(`option "--chdir": cannot change to "${dir}": not a directory`);
    }
  } catch (e) {
    return refuse(oneLine((e as Error).message));
  }
  for (const w of checked.warnings) log.warn(w);
  const startOnly = changedStartOnlyOptions(running, checked.config);
  if (startOnly.length > 0) {
    return refuse(
      `${startOnly.join(', ')} changed, and apply at start only (caches, instance stats, process files, privileges): restart uwrouter to change them`,
    );
  }
  for (const f of checked.pemDenied)
    log.warn(
      `[uwrouter] reload: ${f} cannot be read as uid ${process.getuid?.()} any more: the workers get the copy read at start (restart uwrouter to load a changed file)`,
    );
  return checked;
}
