import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readmeWithOptions } from '../../scripts/options-table.ts';

test('the README option reference matches the option registry (run scripts/options-table.ts --write)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, readmeWithOptions(readme));
});
