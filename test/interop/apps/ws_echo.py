"""A websocket echo with uWSGI's websocket API (serve it with --http-socket or behind an HTTP
router). A plain request gets 200 "websocket endpoint"."""
import uwsgi


def application(environ, start_response):
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        body = b"websocket endpoint"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    uwsgi.websocket_handshake(
        environ.get("HTTP_SEC_WEBSOCKET_KEY", ""), environ.get("HTTP_ORIGIN", "")
    )
    while True:
        try:
            message = uwsgi.websocket_recv()
        except IOError:
            # the client closed the websocket
            return []
        uwsgi.websocket_send(message)
