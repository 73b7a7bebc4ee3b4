/**
 * `--results`: the run's summary written into bench/RESULTS.md between two marker comments
 * (replacing the previous one), or before its first section when the markers are not there.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../test/interop/harness/index.ts';

const START = '<!-- bench:summary (written by `npm run bench -- --results`) -->';
const END = '<!-- /bench:summary -->';

export interface ResultsHead {
  date: string;
  commit: string;
  machine: string;
  uwrouter: string;
  load: string;
  settings: string;
}

export function summaryMarkdown(opts: {
  head: ResultsHead;
  comparisons: string;
  goals?: string;
  /** `--profile`'s report (markdown), when the run made one */
  profile?: string;
  jsonPath: string;
}): string {
  const h = opts.head;
  return [
    START,
    '## Summary: every router against its peers (`npm run bench`)',
    '',
    `${h.date}, commit ${h.commit}. ${h.machine}. uwrouter run as \`${h.uwrouter}\`. ${h.settings}; ${h.load}. ` +
      `Ratios are uwrouter / peer measured in the same run; CPU is per unit of work (request, handshake, MiB), ` +
      `user + system, of the router's whole process tree; RSS and PSS (shared pages divided among the processes that map them) after the runs. The full tables are in ` +
      `\`${relative(REPO_ROOT, opts.jsonPath)}\` (not committed) and the run's output.`,
    '',
    opts.comparisons,
    ...(opts.goals ? ['', "The issue's goals in this run:", '', opts.goals] : []),
    ...(opts.profile ? ['', opts.profile.replace(/^### /, '#### ')] : []),
    END,
  ].join('\n');
}

/**
 * `text` (RESULTS.md) with `block` in place of the previous summary between the markers, or,
 * when there is none, before its first `## ` section (at the end when it has none).
 */
export function spliceSummary(text: string, block: string): string {
  const a = text.indexOf(START);
  const b = text.indexOf(END, a);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + END.length);
  const first = text.indexOf('\n## ');
  return first >= 0
    ? `${text.slice(0, first + 1)}${block}\n\n${text.slice(first + 1)}`
    : `${text.replace(/\n*$/, '\n\n')}${block}\n`;
}

export function writeResultsSummary(opts: Parameters<typeof summaryMarkdown>[0]): void {
  const path = join(REPO_ROOT, 'bench', 'RESULTS.md');
  writeFileSync(path, spliceSummary(readFileSync(path, 'utf8'), summaryMarkdown(opts)));
}
