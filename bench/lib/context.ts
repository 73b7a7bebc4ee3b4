/**
 * What every scenario of a bench run shares: the uwrouter build and the Node flags it runs
 * with, and the backends (started once, on first use, and used by every router compared).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/interop/harness/index.ts';
import type { ServerHandle } from '../../test/interop/harness/server-process.ts';
import { startUwrouter, type UwrouterOptions } from '../../test/interop/harness/uwrouter.ts';
import { startUwsgiNode } from '../../test/interop/harness/uwsgi.ts';
import { startNodeHello } from './peers.ts';
import type { Target } from './rounds.ts';

/**
 * The node flags of a start script: the `--…` words right after its `node` (none when the
 * script does not run `node`).
 */
export function nodeFlagsOf(script: string): string[] {
  const words = script.split(/\s+/);
  const at = words.indexOf('node');
  const flags: string[] = [];
  for (let i = at + 1; at >= 0 && i < words.length && words[i]!.startsWith('--'); i++) flags.push(words[i]!);
  return flags;
}

/**
 * The flags `npm start` gives node (package.json "start"), so the router is measured as it
 * is run.
 */
export function npmStartNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  return nodeFlagsOf(pkg.scripts?.start ?? '');
}

export class BenchContext {
  /** `src`, `dist` or a script path (see startUwrouter) */
  readonly entry: string;
  /** node flags for every uwrouter started through `uwrouter()` */
  readonly nodeFlags: readonly string[];
  private readonly started = new Map<string, Promise<ServerHandle>>();

  constructor(opts: { entry: string; nodeFlags: readonly string[] }) {
    this.entry = opts.entry;
    this.nodeFlags = opts.nodeFlags;
  }

  /** A backend started on first use and shared by every caller asking for `name`. */
  shared(name: string, start: () => Promise<ServerHandle>): Promise<ServerHandle> {
    let p = this.started.get(name);
    if (!p) {
      p = start();
      this.started.set(name, p);
    }
    return p;
  }

  /** One uWSGI python hello node (2 processes) on `--socket` (the uwsgi protocol). */
  uwsgiNode(): Promise<ServerHandle> {
    return this.shared('uwsgi', () => startUwsgiNode({ app: 'hello.py', processes: 2 }));
  }

  /** The same app on `--http-socket`: it closes every connection after its answer. */
  httpSocketNode(): Promise<ServerHandle> {
    return this.shared('http-socket', () =>
      startUwsgiNode({ app: 'hello.py', processes: 2, protocol: 'http' }),
    );
  }

  /** A Node.js `http` hello server (keep-alive). */
  nodeHello(): Promise<ServerHandle> {
    return this.shared('node-hello', startNodeHello);
  }

  /** uwrouter from this run's entry without this run's node flags (only `opts.nodeArgs`). */
  uwrouterWithout(args: readonly string[], opts: UwrouterOptions = {}): Promise<ServerHandle> {
    return startUwrouter(args, { ...opts, entry: this.entry });
  }

  /** uwrouter from this run's entry with this run's node flags (plus `opts.nodeArgs`). */
  uwrouter(args: readonly string[], opts: UwrouterOptions = {}): Promise<ServerHandle> {
    return startUwrouter(args, {
      ...opts,
      entry: this.entry,
      nodeArgs: [...this.nodeFlags, ...(opts.nodeArgs ?? [])],
    });
  }
}

/** The first `n` lines of an error's message (a start failure carries the process's output). */
export function firstLines(err: unknown, n = 8): string {
  return (err as Error).message.split('\n').slice(0, n).join('\n  ');
}

/** Runs `start`, setting the target's router and URL, or its failure. */
export async function startInto(
  t: Target,
  start: () => Promise<{ router?: ServerHandle; url: string }>,
): Promise<void> {
  try {
    const r = await start();
    t.router = r.router;
    t.url = r.url;
  } catch (err) {
    t.failure = `did not start: ${firstLines(err)}`;
  }
}
