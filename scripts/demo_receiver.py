"""The demo's webhook receiver: answers 200 to every POST, verifies Standard Webhooks signatures
and prints one line per request. `make demo` runs it on loopback; compose.yaml's `receiver`
service runs it on all interfaces (RECEIVER_HOST=0.0.0.0, the secret in WEBHOOK_SECRET).

    python3 scripts/demo_receiver.py PORT [SIGNING_SECRET]

`GET /health` answers 200 (the container's healthcheck).

A signed request (headers webhook-id, webhook-timestamp, webhook-signature) is verified as the
Standard Webhooks specification says: HMAC-SHA256 over "<id>.<timestamp>.<body>" with the
base64-decoded secret after its "whsec_" prefix, compared with each "v1,<base64>" signature.
"""
import base64
import hashlib
import hmac
import http.server
import os
import sys
import threading

SECRET = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("WEBHOOK_SECRET", "")
HOST = os.environ.get("RECEIVER_HOST", "127.0.0.1")
PRINTING = threading.Lock()


def verified(headers, body: bytes) -> str:
    signatures = headers.get("webhook-signature")
    if not signatures:
        return "unsigned"
    if not SECRET.startswith("whsec_"):
        return "unknown-secret"
    key = base64.b64decode(SECRET[len("whsec_"):])
    signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return "yes"
    return "NO"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's naming
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def do_POST(self):  # noqa: N802 - the stdlib's naming
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        key = self.headers.get("webhook-id") or self.headers.get("idempotency-key") or "-"
        text = body.decode("utf-8", "replace")
        line = f"receiver: POST {self.path} id={key} verified={verified(self.headers, body)} {text}\n"
        with PRINTING:  # one whole line per request, whatever the threads do
            sys.stdout.write(line)
            sys.stdout.flush()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # Two workers and a job-worker post at once: the default backlog of 5 would refuse some.
    request_queue_size = 256
    daemon_threads = True


Server((HOST, int(sys.argv[1])), Handler).serve_forever()
