"""Reads a request body that may be chunked and answers with what it got, as JSON:
{"mode": "chunked"|"length", "chunks": N, "length": N, "sha256": "hex"}.

A chunked body (Transfer-Encoding: chunked) has no CONTENT_LENGTH, so wsgi.input reads
nothing: uWSGI hands it over through uwsgi.chunked_read(), which de-chunks the raw stream
and returns b"" after the last chunk. That needs the raw request stream: an --http-socket
node, or uWSGI's HTTP router with --http-raw-body (or uwrouter's equivalent)."""
import hashlib
import json

import uwsgi


def application(environ, start_response):
    digest = hashlib.sha256()
    length = 0
    chunks = 0
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        mode = "chunked"
        while True:
            chunk = uwsgi.chunked_read(30)
            if not chunk:
                break
            chunks += 1
            digest.update(chunk)
            length += len(chunk)
    else:
        mode = "length"
        stream = environ["wsgi.input"]
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            chunks += 1
            digest.update(chunk)
            length += len(chunk)
    payload = json.dumps(
        {"mode": mode, "chunks": chunks, "length": length, "sha256": digest.hexdigest()}
    ).encode("utf-8")
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]
