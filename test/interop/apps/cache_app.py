"""Writes and reads this node's uWSGI cache "routes" (the cache uWSGI syncs over UDP with
`--cache2 name=routes,...,nodes=HOST:PORT`): /set?k=K&v=V[&ttl=S] is cache_update,
/del?k=K is cache_del, /get?k=K answers the value or MISSING; any other path answers
NODE_NAME, so a router in front can be seen reaching this node."""
import os
from urllib.parse import parse_qs

import uwsgi


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ.get("PATH_INFO", "/")
    if path == "/set":
        ok = uwsgi.cache_update(q["k"], q["v"], int(q.get("ttl", "0")), "routes")
        body = b"ok" if ok else b"failed"
    elif path == "/del":
        body = b"ok" if uwsgi.cache_del(q["k"], "routes") else b"failed"
    elif path == "/get":
        v = uwsgi.cache_get(q["k"], "routes")
        body = v if v is not None else b"MISSING"
    else:
        body = os.environ.get("NODE_NAME", "unnamed").encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
