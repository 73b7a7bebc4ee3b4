/**
 * Reads the `.hex` fixtures: an offset / hex / ASCII dump, one line per 16 bytes
 * (`00000000  e0 66 00 00 03 00 6b 65 …  |.f....key..examp|`, as `hexdump -C` prints it,
 * with or without its extra space after the 8th byte and its closing offset-only line).
 * Every column is checked — the offset against the bytes read so far, the ASCII column
 * against the bytes — so a dump that does not say what its `.bin` holds is an error, not
 * something skipped.
 */

export type HexDumpResult = { ok: true; bytes: Buffer } | { ok: false; error: string };

const HEX_BYTE = /^[0-9a-f]{2}$/i;
const OFFSET = /^[0-9a-f]{8}$/i;

function printable(byte: number): string {
  return byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '.';
}

export function parseHexDump(text: string): HexDumpResult {
  const out: number[] = [];
  const lines = text.split('\n');
  let ended = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trimEnd();
    if (line === '') continue;
    const at = `line ${n + 1}`;
    if (ended) return { ok: false, error: `${at}: text after the closing offset line` };
    const offsetText = line.slice(0, 8);
    if (!OFFSET.test(offsetText)) return { ok: false, error: `${at}: no 8-digit hex offset` };
    const offset = Number.parseInt(offsetText, 16);
    if (offset !== out.length) {
      return { ok: false, error: `${at}: offset ${offset} but ${out.length} bytes read before it` };
    }
    if (line.length === 8) {
      ended = true; // hexdump -C ends with the total length alone
      continue;
    }
    const bar = line.indexOf('|');
    if (bar < 0 || !line.endsWith('|') || bar === line.length - 1) {
      return { ok: false, error: `${at}: no |ASCII| column` };
    }
    const hexPart = line.slice(8, bar);
    if (!/^\s/.test(hexPart)) return { ok: false, error: `${at}: no space after the offset` };
    const cells = hexPart.trim().split(/\s+/);
    if (cells.length > 16) return { ok: false, error: `${at}: ${cells.length} bytes on one line` };
    const bytes: number[] = [];
    for (const c of cells) {
      if (!HEX_BYTE.test(c)) return { ok: false, error: `${at}: "${c}" is not a hex byte` };
      bytes.push(Number.parseInt(c, 16));
    }
    const ascii = line.slice(bar + 1, -1);
    const expected = bytes.map(printable).join('');
    if (ascii !== expected) {
      return { ok: false, error: `${at}: ASCII column "${ascii}" does not match the bytes ("${expected}")` };
    }
    out.push(...bytes);
  }
  return { ok: true, bytes: Buffer.from(out) };
}
