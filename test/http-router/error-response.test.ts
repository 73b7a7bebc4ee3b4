import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONTINUE_100,
  EXPECT_TOO_LARGE_413,
  errorResponse,
  hostWithoutPort,
  NODE_BUFFER_SIZE_502,
  NODE_CLOSED_502,
  type RouterErrorStatus,
  redirectToHttps,
  statusForError,
} from '../../src/http-router/error-response.ts';

test('error responses: status line, plain text, exact Content-Length, Connection: close', () => {
  const all = [400, 404, 413, 417, 431, 500, 501, 502, 503, 504, 505, 508] as RouterErrorStatus[];
  const pages = [...all.map((s) => errorResponse(s)), NODE_CLOSED_502, NODE_BUFFER_SIZE_502];
  for (const [i, response] of pages.entries()) {
    const text = response.toString('latin1');
    const status = Number(text.slice(9, 12));
    const [head, body] = text.split('\r\n\r\n');
    const lines = head.split('\r\n');
    assert.match(lines[0], new RegExp(`^HTTP/1\\.1 ${status} [A-Z]`));
    assert.ok(lines.includes('Content-Type: text/plain'));
    assert.ok(lines.includes('Connection: close'));
    assert.ok(lines.includes(`Content-Length: ${Buffer.byteLength(body)}`));
    assert.ok(body.length > 0 && !/node_modules|Error:/i.test(body));
    // only the buffer-size hint names uWSGI: that is its point
    if (response !== NODE_BUFFER_SIZE_502) assert.doesNotMatch(body, /uwsgi/i);
    if (i < all.length) assert.equal(errorResponse(status as RouterErrorStatus), response); // prebuilt
  }
  assert.match(errorResponse(404).toString(), /no such host/);
  assert.match(errorResponse(503).toString(), /no node is available/);
  assert.match(errorResponse(505).toString(), /^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
  assert.match(errorResponse(417).toString(), /^HTTP\/1\.1 417 Expectation Failed\r\n/);
  assert.match(errorResponse(501).toString(), /^HTTP\/1\.1 501 Not Implemented\r\n/);
});

test('503 carries Retry-After (a crashed node is usually back within seconds); no other page does', () => {
  assert.match(errorResponse(503).toString(), /\r\nRetry-After: 5\r\n/);
  for (const status of [400, 404, 413, 502, 504] as RouterErrorStatus[]) {
    assert.doesNotMatch(errorResponse(status).toString(), /Retry-After/);
  }
});

test('a node that closed without answering: its own 502 text; the buffer-size hint names the cause', () => {
  assert.match(NODE_CLOSED_502.toString(), /\r\n\r\nthe node closed the connection without answering\n$/);
  assert.match(NODE_BUFFER_SIZE_502.toString(), /exceed 4096 bytes of uwsgi vars.*--buffer-size/);
  assert.match(errorResponse(502).toString(), /could not connect to any node/);
});

test('a 502 says which failure it was: no connection, no answer, or no valid answer', () => {
  assert.match(errorResponse(508).toString(), /^HTTP\/1\.1 508 Loop Detected\r\n/);
  assert.match(errorResponse(502).toString(), /could not connect/);
  const bad = errorResponse(502, 'UWR_ERR_BAD_RESPONSE').toString();
  assert.match(bad, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  assert.match(bad, /did not send a valid answer\n$/);
  assert.match(
    bad,
    new RegExp(`Content-Length: ${'the node for this host did not send a valid answer\n'.length}\r\n`),
  );
  assert.equal(errorResponse(502, 'UWR_ERR_BACKEND_CLOSED'), NODE_CLOSED_502);
  assert.equal(errorResponse(502, 'UWR_ERR_CONNECT'), errorResponse(502));
});

test('error codes map to statuses', () => {
  assert.equal(statusForError('UWR_ERR_BAD_REQUEST'), 400);
  assert.equal(statusForError('UWR_ERR_HEADERS_TOO_LARGE'), 431);
  assert.equal(statusForError('UWR_ERR_PACKET_TOO_LARGE'), 431);
  assert.equal(statusForError('UWR_ERR_BODY_TOO_LARGE'), 413);
  assert.equal(statusForError('UWR_ERR_NO_KEY'), 404);
  assert.equal(statusForError('UWR_ERR_NO_NODE'), 503);
  assert.equal(statusForError('UWR_ERR_CONNECT'), 502);
  assert.equal(statusForError('UWR_ERR_CONNECT_TIMEOUT'), 504);
  assert.equal(statusForError('UWR_ERR_TIMEOUT'), 504);
  assert.equal(statusForError('UWR_ERR_BAD_RESPONSE'), 502);
  assert.equal(statusForError('UWR_ERR_NOT_IMPLEMENTED'), 501);
  assert.equal(statusForError('UWR_ERR_LOOP_DETECTED'), 508);
});

test('Expect lines (spec §5)', () => {
  assert.equal(CONTINUE_100.toString(), 'HTTP/1.1 100 Continue\r\n\r\n');
  assert.equal(EXPECT_TOO_LARGE_413.toString(), 'HTTP/1.1 413 Request Entity Too Large\r\n\r\n');
});

test('http-to-https Location (spec §9)', () => {
  assert.equal(hostWithoutPort('example.com:8080'), 'example.com');
  assert.equal(hostWithoutPort('example.com'), 'example.com');
  assert.equal(hostWithoutPort('[::1]:8443'), '[::1]');
  assert.equal(
    redirectToHttps('Example.COM:8080', null, '/a%20b?x=1').toString(),
    'HTTP/1.1 301 Moved Permanently\r\nLocation: https://Example.COM/a%20b?x=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
  );
  assert.match(redirectToHttps('vm', '8443', '/').toString(), /\r\nLocation: https:\/\/vm:8443\/\r\n/);
});
