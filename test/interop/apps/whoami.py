"""Answers with this node's identity: NODE_NAME (set with `--env NODE_NAME=x`), so tests can
tell nodes apart behind a router; the worker's pid is in X-Node-Pid."""
import os


def application(environ, start_response):
    body = os.environ.get("NODE_NAME", "unnamed").encode("utf-8")
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
            ("X-Node-Pid", str(os.getpid())),
        ],
    )
    return [body]
