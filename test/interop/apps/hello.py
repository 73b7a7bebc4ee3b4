"""200 "Hello World" with a Content-Length: the fastest possible app (benchmarks use it)."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
    return [b"Hello World"]
