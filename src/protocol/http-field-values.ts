/**
 * Field values of the request head that are lists (RFC 9110 §5.6.1): comma-separated tokens
 * and Content-Length. Pure, over latin1 strings.
 */

const SP = 32;
const HTAB = 9;

function lowerAscii(s: string): string {
  // header values are latin1; only A-Z matter for token compares
  return s.toLowerCase();
}

/** Walks a comma list, calling `visit` with each trimmed, lower-cased element. */
export function forEachToken(value: string, visit: (token: string) => void): void {
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 44) {
      let a = start;
      let b = i;
      while (a < b && (value.charCodeAt(a) === SP || value.charCodeAt(a) === HTAB)) a++;
      while (b > a && (value.charCodeAt(b - 1) === SP || value.charCodeAt(b - 1) === HTAB)) b--;
      if (b > a) visit(lowerAscii(value.slice(a, b)));
      start = i + 1;
    }
  }
}

/** Content-Length value: 1*DIGIT, or a list of identical ones ("5, 5"); -2 when invalid. */
export function parseContentLength(value: string): number {
  let result = -1;
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && value.charCodeAt(i) !== 44) continue;
    let a = start;
    let b = i;
    while (a < b && (value.charCodeAt(a) === SP || value.charCodeAt(a) === HTAB)) a++;
    while (b > a && (value.charCodeAt(b - 1) === SP || value.charCodeAt(b - 1) === HTAB)) b--;
    // 15 digits keep the number exact (< 2^53); nobody sends a petabyte body
    if (b === a || b - a > 15) return -2;
    let n = 0;
    for (let k = a; k < b; k++) {
      const c = value.charCodeAt(k);
      if (c < 48 || c > 57) return -2;
      n = n * 10 + (c - 48);
    }
    if (result >= 0 && result !== n) return -2;
    result = n;
    start = i + 1;
  }
  return result;
}
