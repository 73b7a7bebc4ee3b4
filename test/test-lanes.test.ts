/**
 * The two test lanes: the main lane (unit + interop, `npm run test:unit`) and the load lane
 * (`npm run test:load`: time and memory bounds, margins in test/load/margins.ts). `npm test`
 * (scripts/test.sh) runs both. Every test file must run in exactly one of them: a load test
 * in the main lane would run twice (and measure under concurrency), a file in neither would
 * never run.
 */
import assert from 'node:assert/strict';
import { globSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../', import.meta.url).pathname;
const MAIN_GLOB = 'test/**/!(*.load).test.ts';
const LOAD_GLOB = 'test/**/*.load.test.ts';

function allTestFiles(dir = 'test'): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...allTestFiles(rel));
    else if (e.name.endsWith('.test.ts')) out.push(rel);
  }
  return out.sort();
}

const expand = (glob: string): string[] => globSync(glob, { cwd: ROOT }).sort();

test('package.json and scripts/test.sh run the main and the load lane with the same globs', () => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  assert.ok(scripts['test:unit']?.endsWith(` '${MAIN_GLOB}'`), scripts['test:unit']);
  assert.ok(scripts['test:load']?.endsWith(` '${LOAD_GLOB}'`), scripts['test:load']);
  assert.equal(scripts.test, 'bash scripts/test.sh');
  const sh = readFileSync(join(ROOT, 'scripts/test.sh'), 'utf8');
  const globs = [...sh.matchAll(/'(test\/[^']+)'/g)].map((m) => m[1]);
  assert.deepEqual(globs, [MAIN_GLOB, LOAD_GLOB]);
});

test('every test file runs in exactly one lane; load tests live in test/load/', () => {
  const main = expand(MAIN_GLOB);
  const load = expand(LOAD_GLOB);
  assert.ok(load.length > 0, 'the load lane has tests');
  assert.ok(main.length > load.length, 'the main lane has tests');
  assert.deepEqual(
    main.filter((f) => load.includes(f)),
    [],
    'in both lanes',
  );
  assert.deepEqual([...main, ...load].sort(), allTestFiles(), 'every *.test.ts in one lane');
  assert.deepEqual(
    load.filter((f) => !f.startsWith('test/load/')),
    [],
    'load tests outside test/load/',
  );
  assert.deepEqual(
    allTestFiles('test/load').filter((f) => !load.includes(f)),
    [],
    'test/load/ holds only load tests (and their helpers)',
  );
});
