#!/usr/bin/env node
/**
 * Process entry. The signal handlers go in before anything else is even loaded: until
 * they are installed, Node's defaults apply, and SIGUSR1 opens the inspector (code
 * execution for any local user) while SIGHUP kills the process (src/signals.ts).
 * Static imports are evaluated before this module's body, so this file imports only the
 * signals module (which imports nothing) and loads the rest afterwards.
 */
import { ProcessSignals } from './signals.ts';

const signals = new ProcessSignals().install();

/** set by the primary when it forks a router worker (src/cluster/messages.ts WORKER_ENV) */
const WORKER_ENV = 'UWROUTER_CLUSTER_WORKER';

async function run(): Promise<number> {
  if (process.env[WORKER_ENV] === '1' && process.send) {
    // not inherited by anything this process might start
    delete process.env[WORKER_ENV];
    const { Worker } = await import('./cluster/worker.ts');
    return new Worker(signals).run();
  }
  const { runCli } = await import('./main.ts');
  return runCli(signals, process.argv.slice(2), process.env);
}

try {
  const code = await run();
  process.exitCode = code;
  // plain log lines are written synchronously and pino flushes JSON lines at exit, so
  // nothing is lost; the short grace lets a closing socket finish, then we leave anyway
  setTimeout(() => process.exit(code), 50).unref();
} catch (err) {
  process.stderr.write(
    `uwrouter: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(70);
}
