"""The dev stack's Temporal UI, behind a small proxy that tells it to send the browser's
cookies to the codec endpoint.

The UI decodes payloads by posting them from the browser to the codec endpoint (the API's
``/codec``), which answers only someone signed in. The UI sends the dashboard's session
cookie with those posts only when its settings say ``IncludeCredentials``, and
``temporal server start-dev`` can set the endpoint (``--ui-codec-endpoint``) but not that.
So ``opsdesk dev`` runs the UI on a port of its own and serves it on the UI port through
this proxy, which passes every request through unchanged but for the answer to
``/api/v1/settings``, where it turns ``IncludeCredentials`` on. The person signed in to
the dashboard then sees payloads decoded, with no setting to change.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SETTINGS_PATH = "/api/v1/settings"
UPSTREAM_TIMEOUT = 300.0
"""Long enough for the UI's long polls (a workflow's history waiting for a new event)."""
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def with_credentials(body: bytes) -> bytes:
    """The UI server's settings with the codec's ``IncludeCredentials`` on (a body that is
    not the settings object it should be is left as it is)."""
    try:
        settings = json.loads(body)
    except ValueError:
        return body
    codec = settings.get("Codec") if isinstance(settings, dict) else None
    if not isinstance(codec, dict) or not codec.get("Endpoint"):
        return body
    codec["IncludeCredentials"] = True
    return json.dumps(settings).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        # Plain bodies: the settings are rewritten, and loopback needs no compression.
        headers.pop("Accept-Encoding", None)
        upstream = http.client.HTTPConnection(
            self.server.upstream_host, self.server.upstream_port, timeout=UPSTREAM_TIMEOUT
        )
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        except OSError:
            # The UI server restarting with the dev server: the browser retries.
            self.send_error(502, "the Temporal UI is not answering yet")
            return
        finally:
            upstream.close()
        if answer.status == 200 and self.path.split("?", 1)[0] == SETTINGS_PATH:
            data = with_credentials(data)
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # The names http.server dispatches each method to.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        pass  # the UI's every asset and poll; nobody at the console wants them


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A tab closed mid-answer (or a poll given up on) is the browser's business.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def __init__(self, listen: tuple[str, int], upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        super().__init__(listen, _Handler)


class UiProxy:
    """Serves the UI found at ``upstream_host:upstream_port`` on ``host:port``."""

    def __init__(self, host: str, port: int, upstream_host: str, upstream_port: int) -> None:
        self._server = _ProxyServer((host, port), upstream_host, upstream_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="temporal-ui-proxy", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
