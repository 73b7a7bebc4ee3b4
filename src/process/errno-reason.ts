/** How a failed system call reads in a log line. */

/** "EACCES (permission denied)" from a Node fs error ("EACCES: permission denied, open '…'"). */
export function errnoReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e?.code) return err instanceof Error ? err.message : String(err);
  const text = /^\w+: ([^,]+)/.exec(e.message)?.[1];
  return text ? `${e.code} (${text})` : e.code;
}
