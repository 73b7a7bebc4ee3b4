"""Answers with a `uWSGI-Encoding: gzip` header (asking uWSGI's HTTP router to compress) and
no Content-Length: ~20 KB of compressible text in several pieces."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("uWSGI-Encoding", "gzip")])

    def body():
        for i in range(200):
            yield ("line %03d: the quick brown fox jumps over the lazy dog\n" % i).encode("ascii")

    return body()
