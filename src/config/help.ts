/**
 * --help text and the README options table, both generated from the registry so they
 * cannot disagree with what the parser accepts.
 */

import type { OptionSpec } from './config.ts';
import { OPTION_GROUPS, OPTIONS } from './registry.ts';
import { statusOf } from './status.ts';

const WIDTH = 100;
const HELP_INDENT = '        ';

/** `--name`, `--name VALUE` or `--name[=VALUE]` as the option is typed. */
function synopsis(spec: OptionSpec, name: string): string {
  if (spec.kind === 'flag') return `--${name}`;
  const v = (spec.valueName ?? 'VALUE').replace(/^\[(.*)\]$/, '$1');
  if (spec.kind === 'optional-int' || spec.implicit !== undefined) return `--${name}[=${v}]`;
  return `--${name} ${v}`;
}

function details(spec: OptionSpec): string[] {
  const out: string[] = [];
  if (spec.default !== undefined) out.push(`default: ${spec.default === '' ? '""' : spec.default}`);
  if (spec.kind === 'int' || spec.kind === 'optional-int') {
    if (spec.max !== undefined) out.push(`range: ${spec.min ?? 0}..${spec.max}`);
    else if ((spec.min ?? 0) > 0) out.push(`minimum: ${spec.min}`);
  }
  if (spec.choices) out.push(`one of: ${spec.choices.join(', ')}`);
  if (spec.repeatable) out.push('repeatable');
  return out;
}

/** How the option's status reads in --help and the README ('' when implemented). */
export function statusNote(spec: OptionSpec): string {
  const st = statusOf(spec);
  if (st === 'implemented') return '';
  if ('refuse' in st) return `[refused at start-up: ${st.refuse}]`;
  if ('warn' in st) return `[accepted with a warning at start-up: ${st.warn}]`;
  return `[no effect: ${st.noop}]`;
}

function withStatus(spec: OptionSpec, text: string): string {
  const note = statusNote(spec);
  return note === '' ? text : `${text} ${note}`;
}

function wrap(text: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.length > indent.length ? ` ${word}` : word;
  }
  if (line.length > indent.length) lines.push(line);
  return lines;
}

function optionsInGroup(group: string): OptionSpec[] {
  return OPTIONS.filter((o) => o.group === group);
}

/** The full --help text. */
export function renderHelp(): string {
  const out: string[] = [
    'usage: uwrouter [FILE.ini[:SECTION]] [--ini FILE[:SECTION]] [--OPTION VALUE | --OPTION=VALUE ...]',
    '',
    'Options use uWSGI names and may also be given in [uwsgi] ini sections (one "option = value"',
    'per line, repeated keys = repeated options) or as UWSGI_<OPTION> environment variables',
    '(upper case, "-" → "_"); the command line wins over the environment. Flags accept',
    'true/false, 1/0, yes/no, on/off. X-… options exist for each router prefix shown below.',
    'Values may use $(ENV), @(FILE) and %(NAME) (an option, a --set-placeholder, or an ini key used',
    "only as a placeholder); ini files also expand uWSGI's magic variables (%d %p %s %n %e %c %x %o",
    '%0-%9 %i %j, %v %h %t %T %k %u %U %g %G; %% is a percent sign). Options marked "refused at',
    'start-up" are not implemented yet and stop uwrouter when set; "no effect" ones are harmless.',
  ];
  for (const { group, title } of OPTION_GROUPS) {
    const options = optionsInGroup(group);
    if (options.length === 0) continue;
    out.push('', `${title}:`);
    for (const spec of options) {
      const names = [spec.name, ...(spec.aliases ?? [])].map((n) => synopsis(spec, n)).join(', ');
      out.push(...wrap(names, '  ', WIDTH));
      const extra = details(spec);
      const text = extra.length > 0 ? `${spec.help} (${extra.join('; ')})` : spec.help;
      out.push(...wrap(withStatus(spec, text), HELP_INDENT, WIDTH));
    }
  }
  return `${out.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(text: string): string {
  return text === '' ? '' : `\`${cell(text)}\``;
}

/** A markdown table per option group (option, aliases, value, default, description). */
export function renderOptionsMarkdown(): string {
  const out: string[] = [];
  for (const { group, title } of OPTION_GROUPS) {
    const options = optionsInGroup(group);
    if (options.length === 0) continue;
    out.push(
      `### ${title}`,
      '',
      '| option | aliases | value | default | description |',
      '|---|---|---|---|---|',
    );
    for (const spec of options) {
      const aliases = (spec.aliases ?? []).map((a) => code(`--${a}`)).join(', ');
      let value = spec.kind === 'flag' ? '' : (spec.valueName ?? 'VALUE');
      if (spec.kind === 'optional-int' || spec.implicit !== undefined) {
        value = `[${value.replace(/^\[(.*)\]$/, '$1')}]`;
      }
      const notes: string[] = [];
      if (spec.repeatable) notes.push('repeatable');
      if (spec.choices) notes.push(`one of ${spec.choices.join(', ')}`);
      if (spec.max !== undefined) notes.push(`range ${spec.min ?? 0}..${spec.max}`);
      const description = withStatus(
        spec,
        notes.length > 0 ? `${spec.help} (${notes.join('; ')})` : spec.help,
      );
      out.push(
        `| ${code(`--${spec.name}`)} | ${aliases} | ${code(value)} | ${code(spec.default ?? '')} | ${cell(description)} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * The README's "not implemented yet" list: every option the registry refuses at start-up,
 * grouped by its reason, and every option accepted with a warning (what it does not do).
 */
export function renderNotImplementedMarkdown(): string {
  const refused = new Map<string, string[]>();
  const warned = new Map<string, string[]>();
  for (const spec of OPTIONS) {
    const st = statusOf(spec);
    if (typeof st !== 'object') continue;
    const into = 'refuse' in st ? refused : 'warn' in st ? warned : null;
    if (into === null) continue;
    const why = 'refuse' in st ? st.refuse : (st as { warn: string }).warn;
    const names = into.get(why) ?? [];
    names.push(`\`--${spec.name}\``);
    into.set(why, names);
  }
  const out = ['Refused at start-up (uwrouter stops and names the option):', ''];
  for (const [why, names] of refused) out.push(`- ${names.join(', ')}: ${why}`);
  out.push('', 'Accepted with one warning line at start-up (the option has no effect):', '');
  for (const [why, names] of warned) out.push(`- ${names.join(', ')}: ${why}`);
  return `${out.join('\n')}\n`;
}
