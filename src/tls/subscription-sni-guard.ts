/**
 * Which certificate files a subscription may make the router read. A subscribe packet's
 * `sni_crt`/`sni_key`/`sni_ca` are paths on the ROUTER (spec: ssl-sni-sessions.md §4): in
 * uWSGI any subscriber (signatures are optional) can make a root router open any file it
 * names (`/etc/shadow` as a "key") and learn from the log whether it exists. uwrouter reads
 * such files only from `--subscriptions-sni-dir DIR`: the path (relative paths resolve
 * against the router's working directory, as in uWSGI) must exist and its real path, links
 * resolved, must lie inside DIR's real path. Without the option no subscription certificate
 * is accepted. Inline PEM (with `--ssl-tmp-dir`) names no file and passes when DIR is set.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.ts';

export type GuardVerdict = { ok: true; path: string } | { ok: false; reason: string };

export class SubscriptionSniGuard {
  /** DIR's real path with a trailing separator; null = subscription certificates refused */
  private readonly root: string | null;
  readonly dir: string | undefined;

  /** Throws ConfigError when `dir` is given and is not a directory. */
  constructor(dir: string | undefined) {
    this.dir = dir;
    if (dir === undefined) {
      this.root = null;
      return;
    }
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ConfigError(`--subscriptions-sni-dir ${dir}: not a directory`);
    }
    const real = realpathSync(dir);
    this.root = real.endsWith(sep) ? real : `${real}${sep}`;
  }

  /** Are subscription certificates accepted at all? */
  get enabled(): boolean {
    return this.root !== null;
  }

  /** The real path to read for a file a subscription names, or why it is refused. */
  check(path: string): GuardVerdict {
    if (this.root === null) {
      return {
        ok: false,
        reason: 'subscription certificates are refused without --subscriptions-sni-dir',
      };
    }
    if (path === '' || path.includes('\0')) return { ok: false, reason: 'not a file name' };
    const absolute = isAbsolute(path) ? path : resolve(path);
    let real: string;
    try {
      real = realpathSync(absolute);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      return { ok: false, reason: `cannot resolve it (${code})` };
    }
    if (!real.startsWith(this.root)) {
      return { ok: false, reason: `outside --subscriptions-sni-dir ${this.dir}` };
    }
    return { ok: true, path: real };
  }
}
