#!/usr/bin/env node
/**
 * Process entry: parse options, start the configured routers, handle signals.
 * No router logic lives here (DESIGN.md).
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { loadConfig, renderHelp } from './config/index.ts';
import { UwrError } from './errors.ts';
import { createLogger, type LogFormat } from './logger.ts';
import { startRouters } from './start.ts';

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

async function main(): Promise<number> {
  tuneV8();
  if (runtimeTooOld()) {
    process.stderr.write(
      `uwrouter: Node.js ${process.versions.node} is too old; uwrouter needs 22.12 or newer (npm ci brings Node 24 into node_modules: run it through npm start or npx uwrouter)\n`,
    );
    return 2;
  }
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UwrError) {
      process.stderr.write(`uwrouter: ${err.message}\nRun "uwrouter --help" to list the options.\n`);
      return 2;
    }
    throw err;
  }
  const version = packageVersion();
  if (loaded.help) {
    process.stdout.write(renderHelp());
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`uwrouter ${version} (node ${process.version})\n`);
    return 0;
  }
  const { config } = loaded;
  const log = createLogger(
    (config.str('log-format') ?? 'uwsgi') as LogFormat,
    config.str('log-level') ?? 'info',
  );
  let running: Awaited<ReturnType<typeof startRouters>>;
  try {
    running = await startRouters(config, log, version);
  } catch (err) {
    if (err instanceof UwrError) {
      process.stderr.write(`uwrouter: ${err.message}\n`);
      return err.code === 'UWR_ERR_CONFIG' ? 2 : 1;
    }
    throw err;
  }
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.info(`uwrouter: ${signal} again, exiting now`);
        resolve(1);
        return;
      }
      stopping = true;
      log.info(`uwrouter: ${signal} received, shutting down`);
      running.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGQUIT', () => stop('SIGQUIT'));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    // pino flushes asynchronously; give it a tick, then leave even if a socket lingers
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err: unknown) => {
    process.stderr.write(
      `uwrouter: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(70);
  },
);
