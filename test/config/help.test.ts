import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPTIONS, renderHelp, renderOptionsMarkdown } from '../../src/config/index.ts';

test('--help lists every option and alias, with defaults, wrapped to 100 columns', () => {
  const help = renderHelp();
  assert.match(help, /^usage: uwrouter /);
  for (const o of OPTIONS) {
    for (const n of [o.name, ...(o.aliases ?? [])]) {
      assert.ok(new RegExp(`--${n}(?![a-z0-9-])`).test(help), n);
    }
  }
  assert.match(help, /--http-keepalive\[=N\]/);
  assert.match(help, /--fastrouter-use-cache\[=NAME\]/);
  assert.match(help, /--fastrouter-timeout SECONDS\n\s+close a client .*\(default: 60\)/);
  assert.match(help, /--fastrouter-processes N, --fastrouter-workers N/);
  for (const line of help.split('\n')) assert.ok(line.length <= 100, line);
});

test('the markdown table has one row per option', () => {
  const md = renderOptionsMarkdown();
  const rows = md.split('\n').filter((l) => l.startsWith('| `--'));
  assert.equal(rows.length, OPTIONS.length);
  assert.ok(md.includes('| `--fastrouter-max-retries` |  | `N` | `3` |'));
  assert.ok(md.includes('"A1\\|A2"'), 'pipes are escaped');
  for (const row of rows) assert.equal(row.split(/(?<!\\)\|/).length, 7, row);
});
