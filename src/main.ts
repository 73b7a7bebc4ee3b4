/**
 * What the `uwrouter` command does once its signal handlers are in place (src/cli.ts):
 * parse options, check the runtime, then run the primary process (src/cluster/primary.ts),
 * which binds, forks the router workers, reloads and stops on signals.
 * No router logic lives here (DESIGN.md).
 */
import { readFileSync } from 'node:fs';
import { url as inspectorUrl } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { checkConfig } from './cluster/config-check.ts';
import { Primary } from './cluster/primary.ts';
import { WorkerStartError } from './cluster/router-group.ts';
import type { Config } from './config/config.ts';
import { loadConfig, parseBooleanWord, renderHelp } from './config/index.ts';
import { ConfigError, UwrError } from './errors.ts';
import { strftimeProblem } from './log-time.ts';
import { createLogger, type LogFormat, type Logger, LogOutput, stderrSink } from './logger.ts';
import { checkNodeRuntime } from './node-runtime-check.ts';
import { startInBackground, takeDaemonReadyChannel } from './process/daemon.ts';
import { type ProcessFileSettings, ProcessSetup, processFileSettingsFromConfig } from './process/setup.ts';
import type { ProcessSignals } from './signals.ts';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** Node 22.12 is the oldest runtime with everything used here (stable require(esm), net APIs). */
function runtimeTooOld(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major < 22 || (major === 22 && minor < 12);
}

/**
 * V8 tuning for a router's allocation pattern (many short-lived sessions, a small live set).
 * Allocation-site pretenuring, once it decides that sockets and sessions are long-lived,
 * allocates them in the old generation, where as garbage they keep the young objects they
 * point to alive through scavenges: under fastrouter load some processes then kept 36–41%
 * of the young generation per scavenge (2 × 64 MiB new space, ~200 MiB RSS, 12 + 31 ms
 * scavenges, p99 ~40 ms), others ~0.1%. Without pretenuring every process stays in the
 * good state (--trace-gc-nvp: ~15 KB survive per scavenge). This flag, unlike heap sizes,
 * takes effect when set at run time.
 */
function tuneV8(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}

/** The process-wide options (logging, working directory), read and checked in one place. */
export interface ProcessSettings {
  logFormat: LogFormat;
  logLevel: string;
  /** `--log-date`: undefined = off, '' = uWSGI's ctime format, else strftime */
  logDate: string | undefined;
  chdir: string | undefined;
  /** log files, pidfiles, privilege drop, background start (src/process/setup.ts) */
  files: ProcessFileSettings;
}

/** `--log-date` as given: no value or a true word = ctime (uWSGI), a false word = off, else strftime. */
function logDateFormat(config: Config): string | undefined {
  if (!config.has('log-date')) return undefined;
  const v = config.str('log-date') ?? '';
  const b = v === '' ? true : parseBooleanWord(v);
  if (b === true) return '';
  if (b === false) return undefined;
  return v;
}

export function processSettingsFromConfig(config: Config): ProcessSettings {
  const logDate = logDateFormat(config);
  if (logDate !== undefined && logDate !== '') {
    const problem = strftimeProblem(logDate);
    if (problem) throw new ConfigError(`option "--log-date": "${logDate}": ${problem}`);
  }
  return {
    logFormat: (config.str('log-format') ?? 'uwsgi') as LogFormat,
    logLevel: config.str('log-level') ?? 'info',
    logDate,
    chdir: config.str('chdir'),
    files: processFileSettingsFromConfig(config),
  };
}

/** Refuses (returns false) or warns about Node options that expose the process. */
function runtimeIsSafe(log: Logger): boolean {
  const verdict = checkNodeRuntime({
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
    inspectorUrl: inspectorUrl(),
    isRoot: process.getuid?.() === 0,
  });
  for (const w of verdict.warnings) log.warn(`[uwrouter] warning: ${w}`);
  if (verdict.refuse) {
    log.error(`uwrouter: ${verdict.refuse}`);
    return false;
  }
  return true;
}

function changeDirectory(dir: string): void {
  try {
    process.chdir(dir);
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err);
    throw new ConfigError(`option "--chdir": cannot change to "${dir}": ${reason}`);
  }
}

/** Write and wait until the text is handed to the OS (the caller exits right after). */
function writeOut(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** Runs the command; resolves with the exit code. */
export async function runCli(
  signals: ProcessSignals,
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  tuneV8();
  if (runtimeTooOld()) {
    await writeOut(
      process.stderr,
      `uwrouter: Node.js ${process.versions.node} is too old; uwrouter needs 22.12 or newer (npm ci brings Node 24 into node_modules: run it through npm start or npx uwrouter)\n`,
    );
    return 2;
  }
  let loaded: ReturnType<typeof loadConfig>;
  let settings: ProcessSettings;
  let daemonReady: ReturnType<typeof takeDaemonReadyChannel>;
  try {
    // set when this process is the background one a --daemonize command started
    daemonReady = takeDaemonReadyChannel(env);
    loaded = loadConfig(argv, env);
    settings = processSettingsFromConfig(loaded.config);
  } catch (err) {
    if (err instanceof UwrError) {
      await writeOut(
        process.stderr,
        `uwrouter: ${err.message}\nRun "uwrouter --help" to list the options.\n`,
      );
      return 2;
    }
    throw err;
  }
  const version = packageVersion();
  if (loaded.help) {
    await writeOut(process.stdout, renderHelp());
    return 0;
  }
  if (loaded.version) {
    await writeOut(process.stdout, `uwrouter ${version} (node ${process.version})\n`);
    return 0;
  }
  if (settings.files.daemonize !== undefined && daemonReady === null) {
    return await startInBackground({ logPath: settings.files.daemonize, argv, env }, (line) =>
      process.stderr.write(`${line}\n`),
    );
  }
  const output = new LogOutput(stderrSink(settings.logFormat));
  const setup = new ProcessSetup(settings.files, output, daemonReady);
  try {
    setup.openStartLog();
  } catch (err) {
    if (!(err instanceof UwrError)) throw err;
    await writeOut(process.stderr, `uwrouter: ${err.message}\n`);
    return 2;
  }
  const log = createLogger(settings.logFormat, settings.logLevel, { date: settings.logDate, output });
  signals.useLogger(log);
  if (!runtimeIsSafe(log)) return 2;
  // relative ini paths are read again from here on every reload, whatever --chdir says
  const startDir = process.cwd();
  let primary: Primary;
  try {
    if (settings.chdir !== undefined) changeDirectory(settings.chdir);
    if (signals.stopRequested) return 0;
    const checked = checkConfig(loaded.config, log, { atStart: true });
    for (const w of checked.warnings) log.warn(w);
    primary = await Primary.start(checked, {
      argv,
      env,
      cwd: startDir,
      version,
      log,
      signals,
      setup,
      output,
    });
  } catch (err) {
    if (err instanceof UwrError) {
      log.error(`uwrouter: ${err.message}`);
      return err.code === 'UWR_ERR_CONFIG' ? 2 : 1;
    }
    if (err instanceof WorkerStartError) {
      log.error(`uwrouter: a router worker did not start: ${err.message}`);
      return err.config ? 2 : 1;
    }
    throw err;
  }
  return await primary.finished;
}
