"""Answers with the CGI vars the node received, as JSON, so tests can compare them:

{"vars": {every upper-case str key of the WSGI environ: its value},
 "body": {"length": N, "sha256": "hex"}}   (the raw request body, read in full)
"""
import hashlib
import json


def application(environ, start_response):
    digest = hashlib.sha256()
    length = 0
    stream = environ["wsgi.input"]
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        digest.update(chunk)
        length += len(chunk)
    cgi_vars = {
        k: v for k, v in environ.items() if isinstance(k, str) and k.isupper() and isinstance(v, str)
    }
    payload = json.dumps(
        {"vars": cgi_vars, "body": {"length": length, "sha256": digest.hexdigest()}}, sort_keys=True
    ).encode("utf-8")
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]
