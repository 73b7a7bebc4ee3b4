import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePathInfo, pathLength } from '../../src/http-router/path-info.ts';

// spec: http-router.md §3 — uWSGI's t/core/url_sanitize.pl cases, all verified on 2.0.30
const CASES: ReadonlyArray<readonly [string, string]> = [
  ['/foo', '/foo'],
  ['./foo', '/foo'],
  ['./foo/bar?a=1', '/foo/bar'],
  ['//foo/bar', '//foo/bar'],
  ['foo/bar', 'foo/bar'],
  ['foo/bar/../', 'foo/'],
  ['foo/bar/..', 'foo/'],
  ['/foo/bar/..', '/foo/'],
  ['../../../foo/bar/..', '/foo/'],
  ['test1/test2/../test3/', 'test1/test3/'],
  ['t#est1/test2/../test3/', 't'],
  ['/one/two/three/four/../five', '/one/two/three/five'],
  ['/one/two/three/four/../../five', '/one/two/five'],
  ['/one/two/three/four/../../five/', '/one/two/five/'],
  ['/one/two/three/four/../../five/..', '/one/two/'],
  ['.one/two/three/four/../../five/..', '.one/two/'],
  ['..one/two/three/four/../../five/..', '..one/two/'],
  ['/../', '/'],
  ['../', '/'],
  ['/.', '/'],
  ['..one/two/three/four/../../../../../five/..', '/'],
  ['./foo/.bar.', '/foo/.bar.'],
];

test('PATH_INFO: the 22 url_sanitize cases', () => {
  assert.equal(CASES.length, 22);
  for (const [input, expected] of CASES) assert.equal(decodePathInfo(input), expected, input);
});

test('PATH_INFO: + kept, %2e%2e not a dot segment, bad hex → 0x00', () => {
  assert.equal(decodePathInfo('/a+b%2e%2e/%zz'), '/a+b../\x00');
});

test('PATH_INFO: worked example of §2', () => {
  const uri = '/a%20b/./c/../d?x=1&y=%20';
  assert.equal(pathLength(uri), 15);
  assert.equal(decodePathInfo(uri), '/a b/d');
});

test('PATH_INFO: percent details', () => {
  assert.equal(decodePathInfo('/%%41'), '/%41');
  assert.equal(decodePathInfo('/%41%6a'), '/Aj');
  assert.equal(decodePathInfo('/%4'), '/'); // dangling %X dropped
  assert.equal(decodePathInfo('/x%'), '/x');
  assert.equal(decodePathInfo('/%2z'), '/\x00');
  assert.equal(decodePathInfo('/%ff'), '/\xff');
  assert.equal(decodePathInfo('/a%2fb'), '/a/b');
  assert.equal(decodePathInfo(''), '');
  assert.equal(decodePathInfo('/'), '/');
  assert.equal(decodePathInfo('/.x/..y/...'), '/.x/..y/...');
  assert.equal(decodePathInfo('/a/./b/.'), '/a/b/');
});

test('PATH_INFO: long input grows the scratch buffer', () => {
  const long = `/${'a'.repeat(10000)}/../b`;
  assert.equal(decodePathInfo(long), '/b');
});
