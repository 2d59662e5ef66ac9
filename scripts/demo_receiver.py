"""The demo's webhook receiver: answers 200 to every POST and prints one line per request.

    python3 scripts/demo_receiver.py PORT
"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the stdlib's naming
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode("utf-8", "replace")
        key = self.headers.get("webhook-id") or self.headers.get("idempotency-key") or "-"
        print(f"receiver: POST {self.path} id={key} signed={'webhook-signature' in self.headers} {body}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
