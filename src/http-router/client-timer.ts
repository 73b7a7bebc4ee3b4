/**
 * The one timer of an HTTP client connection: the head deadline, the keepalive idle time
 * and the stored-body inactivity limit share it (refreshed rather than re-created per
 * request), and after an error answer it becomes the linger before the socket is dropped.
 */
export class ClientTimer {
  private readonly onExpiry: () => void;
  private timer: NodeJS.Timeout | null = null;
  private ms = 0;

  constructor(onExpiry: () => void) {
    this.onExpiry = onExpiry;
  }

  /** Expiry `ms` from now (0 = never); re-arming with the same duration refreshes the timer. */
  arm(ms: number): void {
    if (this.timer !== null && this.ms === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.ms = ms;
    this.timer = ms > 0 ? setTimeout(this.onExpiry, ms) : null;
  }

  /** Restarts the running duration (activity while a body is stored). */
  refresh(): void {
    this.timer?.refresh();
  }

  disarm(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.ms = -1;
    }
  }

  /** Runs `then` after `ms` instead of the expiry. */
  after(ms: number, then: () => void): void {
    this.disarm();
    this.timer = setTimeout(then, ms);
  }
}
