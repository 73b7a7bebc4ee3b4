"""Sleeps ?s=N seconds (float, default 1, at most 60) before answering "slept N"."""
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        seconds = min(60.0, max(0.0, float(query.get("s", ["1"])[0])))
    except ValueError:
        seconds = 1.0
    time.sleep(seconds)
    body = ("slept %g" % seconds).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
