/**
 * `--touch-reload FILE`: reload when FILE changes. uWSGI's master compares the files'
 * modification times once per cycle (about a second); here one timer stats every file each
 * second. A file that appears or disappears counts as a change (`touch` of a new file works).
 */
import { statSync } from 'node:fs';

const INTERVAL_MS = 1000;

function stamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'absent';
  }
}

export class TouchReload {
  private readonly stamps = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(files: readonly string[], onChange: (file: string) => void, intervalMs = INTERVAL_MS) {
    for (const f of files) this.stamps.set(f, stamp(f));
    this.timer = setInterval(() => {
      for (const [f, before] of this.stamps) {
        const now = stamp(f);
        if (now === before) continue;
        this.stamps.set(f, now);
        onChange(f);
        // one reload per check, whatever number of files changed together
        for (const [g] of this.stamps) this.stamps.set(g, stamp(g));
        return;
      }
    }, intervalMs);
    this.timer.unref();
  }

  get files(): string[] {
    return [...this.stamps.keys()];
  }

  close(): void {
    clearInterval(this.timer);
  }
}
