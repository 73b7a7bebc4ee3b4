/**
 * The time prefix of plain log lines with `--log-date` (uWSGI's `log-date`/`logdate`):
 * without a value `ctime()`'s 24 characters (`Mon Nov 30 21:02:19 2026`), with one the
 * value as a strftime(3) format; either way followed by " - ", in local time
 * (uWSGI core/logging.c uwsgi_log). The prefix is rebuilt at most once per second.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function pad(n: number, width = 2, fill = '0'): string {
  return String(n).padStart(width, fill);
}

function dayOfYear(d: Date): number {
  const start = new Date(d.getFullYear(), 0, 1);
  const startUtc = Date.UTC(start.getFullYear(), 0, 1);
  const nowUtc = Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  return Math.round((nowUtc - startUtc) / 86_400_000) + 1;
}

function utcOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

/** strftime conversions supported here; anything else is refused at start-up. */
const CONVERSIONS: Record<string, (d: Date) => string> = {
  a: (d) => DAYS[d.getDay()],
  A: (d) => DAY_NAMES[d.getDay()],
  b: (d) => MONTHS[d.getMonth()],
  h: (d) => MONTHS[d.getMonth()],
  B: (d) => MONTH_NAMES[d.getMonth()],
  d: (d) => pad(d.getDate()),
  e: (d) => pad(d.getDate(), 2, ' '),
  H: (d) => pad(d.getHours()),
  I: (d) => pad(((d.getHours() + 11) % 12) + 1),
  j: (d) => pad(dayOfYear(d), 3),
  m: (d) => pad(d.getMonth() + 1),
  M: (d) => pad(d.getMinutes()),
  p: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  S: (d) => pad(d.getSeconds()),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  y: (d) => pad(d.getFullYear() % 100),
  Y: (d) => String(d.getFullYear()),
  z: (d) => utcOffset(d),
  F: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
  T: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
  R: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`,
  D: (d) => `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`,
  n: () => '\n',
  t: () => '\t',
  '%': () => '%',
};

/** Why `format` cannot be used (an unsupported conversion), or undefined when it can. */
export function strftimeProblem(format: string): string | undefined {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const c = format[i + 1];
    if (c === undefined) return 'it ends with a lone "%" (write %% for a percent sign)';
    if (!(c in CONVERSIONS)) {
      return `"%${c}" is not supported; use ${Object.keys(CONVERSIONS)
        .filter((k) => k !== '%')
        .map((k) => `%${k}`)
        .join(' ')} or %%`;
    }
    i++;
  }
  return undefined;
}

/** strftime(3) over the supported conversions (check the format with strftimeProblem first). */
export function strftime(format: string, d: Date): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch !== '%' || i + 1 >= format.length) {
      out += ch;
      continue;
    }
    const conv = CONVERSIONS[format[i + 1]];
    out += conv ? conv(d) : `%${format[i + 1]}`;
    i++;
  }
  return out;
}

/** ctime(3) without its newline: `Mon Nov 30 21:02:19 2026` (day of month space-padded). */
export function ctime(d: Date): string {
  return strftime('%a %b %e %T %Y', d);
}

/**
 * A function returning the current prefix for `--log-date` (`''` = ctime, else a strftime
 * format); the text is cached for the second it belongs to.
 */
export function logDatePrefix(format: string, now: () => number = Date.now): () => string {
  let second = -1;
  let text = '';
  return () => {
    const ms = now();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      const d = new Date(ms);
      text = `${format === '' ? ctime(d) : strftime(format, d)} - `;
    }
    return text;
  };
}
