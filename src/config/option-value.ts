/**
 * Turns the text given for an option into the string stored in Config, or an error
 * message naming the option and the value. Pure: no I/O, no throwing.
 * spec: corerouter.md §2 (flag words; the integer trap of uwsgi-docs #445 is not repeated)
 */

import type { OptionSpec } from './config.ts';

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];
export const BOOLEAN_WORDS: readonly string[] = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'];

export type ValueResult = { ok: true; value: string } | { ok: false; error: string };

/** true/false for a boolean word (case-insensitive), undefined otherwise. */
export function parseBooleanWord(text: string): boolean | undefined {
  const w = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(w)) return true;
  if (FALSE_WORDS.includes(w)) return false;
  return undefined;
}

const INTEGER = /^[+-]?\d+$/;

export function isIntegerText(text: string): boolean {
  return INTEGER.test(text.trim());
}

/** `--name` as operators type it. */
export function displayName(name: string): string {
  return `--${name}`;
}

function fail(spec: OptionSpec, message: string): ValueResult {
  return { ok: false, error: `option "${displayName(spec.name)}": ${message}` };
}

function checkRange(spec: OptionSpec, raw: string, n: number): ValueResult {
  const min = spec.min ?? 0;
  if (n < min || (spec.max !== undefined && n > spec.max)) {
    const range = spec.max !== undefined ? `between ${min} and ${spec.max}` : `at least ${min}`;
    return fail(spec, `"${raw}" is out of range; it must be ${range}`);
  }
  return { ok: true, value: String(n) };
}

function parseInteger(spec: OptionSpec, raw: string): ValueResult {
  const t = raw.trim();
  if (!INTEGER.test(t)) return fail(spec, `"${raw}" is not a number`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) return fail(spec, `"${raw}" is out of range`);
  return checkRange(spec, raw, n);
}

/**
 * Normalise a value for `spec`. `raw === undefined` means the option was given without a
 * value (`--http-keepalive`, an ini key without `=`).
 */
export function normalizeOptionValue(spec: OptionSpec, raw: string | undefined): ValueResult {
  switch (spec.kind) {
    case 'flag': {
      if (raw === undefined || raw.trim() === '') return { ok: true, value: '1' };
      const b = parseBooleanWord(raw);
      if (b === undefined) {
        return fail(spec, `"${raw}" is not a boolean; use one of ${BOOLEAN_WORDS.join(', ')}`);
      }
      return { ok: true, value: b ? '1' : '0' };
    }
    case 'optional-int': {
      // uWSGI parses these with atoi, so "true" meant 0 (off); here the words mean what they say.
      if (raw === undefined || raw.trim() === '') return { ok: true, value: '1' };
      const b = parseBooleanWord(raw);
      if (b !== undefined && !isIntegerText(raw)) return { ok: true, value: b ? '1' : '0' };
      if (!isIntegerText(raw)) {
        return fail(spec, `"${raw}" is not a number or a boolean (true, false, yes, no, on, off)`);
      }
      return parseInteger(spec, raw);
    }
    case 'int': {
      if (raw === undefined) {
        if (spec.implicit !== undefined) return { ok: true, value: spec.implicit };
        return fail(spec, `needs a value (${spec.valueName ?? 'N'})`);
      }
      if (raw.trim() === '' && spec.implicit !== undefined) return { ok: true, value: spec.implicit };
      const word = raw.trim().toLowerCase();
      if (spec.words?.includes(word)) return { ok: true, value: word };
      return parseInteger(spec, raw);
    }
    case 'string': {
      if (raw === undefined) {
        if (spec.implicit !== undefined) return { ok: true, value: spec.implicit };
        return fail(spec, `needs a value (${spec.valueName ?? 'VALUE'})`);
      }
      if (spec.choices && !spec.choices.includes(raw.trim())) {
        return fail(spec, `"${raw}" is not one of ${spec.choices.join(', ')}`);
      }
      return { ok: true, value: spec.choices ? raw.trim() : raw };
    }
  }
}
