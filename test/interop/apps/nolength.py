"""Answers without a Content-Length: the body comes in pieces from a generator, so the
router must delimit it (chunked encoding or closing the connection). Body: "0123456789" × 100
as 10 pieces; ?n=N sends N pieces."""
from urllib.parse import parse_qs


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        pieces = max(0, min(100000, int(query.get("n", ["10"])[0])))
    except ValueError:
        pieces = 10
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        for _ in range(pieces):
            yield b"0123456789" * 10

    return body()
