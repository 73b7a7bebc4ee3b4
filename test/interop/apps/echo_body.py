"""Streams the request body back byte for byte (read from wsgi.input in 64 KiB chunks),
with the request's Content-Length when it had one, for multi-MB byte-exact tests."""


def application(environ, start_response):
    headers = [("Content-Type", "application/octet-stream")]
    length = environ.get("CONTENT_LENGTH", "")
    if length.isdigit():
        headers.append(("Content-Length", length))
    start_response("200 OK", headers)
    stream = environ["wsgi.input"]

    def body():
        while True:
            chunk = stream.read(65536)
            if not chunk:
                return
            yield chunk

    return body()
