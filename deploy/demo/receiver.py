"""The compose fleet's webhook receiver (service `receiver`): answers 200 to every POST and logs it.

    python3 deploy/demo/receiver.py [PORT]        # default 8080, all interfaces

One log line per request: the method, the path, every header and the body. With
WEBHOOK_SECRET set to the observers' `signing_secret` (`whsec_<base64>`), each Standard Webhooks
signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`) is checked and the line says
`signature=valid` or `signature=INVALID`. `GET /health` answers 200 (the container's healthcheck).
The standard library only: it runs on python:3.12-slim as is. scripts/demo_receiver.py is the local
demo's (loopback) counterpart.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys

SECRET = os.environ.get("WEBHOOK_SECRET", "")


def signature_state(headers, body: bytes) -> str:
    """`valid`, `INVALID`, `unsigned`, or `unchecked` (no WEBHOOK_SECRET)."""
    signatures = headers.get("webhook-signature")
    if not signatures:
        return "unsigned"
    if not SECRET:
        return "unchecked"
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return "valid"
    return "INVALID"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, text: str = "ok\n") -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _log_request(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        record = {
            "method": self.command,
            "path": self.path,
            "signature": signature_state(self.headers, body),
            "headers": dict(self.headers.items()),
            "body": body.decode("utf-8", "replace"),
        }
        print("receiver: " + json.dumps(record), flush=True)
        self._answer(200)

    def do_POST(self):  # noqa: N802 - the standard library's naming
        self._log_request()

    def do_PUT(self):  # noqa: N802
        self._log_request()

    def do_PATCH(self):  # noqa: N802
        self._log_request()

    def do_GET(self):  # noqa: N802
        if self.path == "/health":
            self._answer(200)
        else:
            self._answer(404, "POST here; GET /health\n")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    print(f"receiver: listening on 0.0.0.0:{port}, signatures "
          f"{'checked' if SECRET else 'not checked (no WEBHOOK_SECRET)'}", flush=True)
    http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
