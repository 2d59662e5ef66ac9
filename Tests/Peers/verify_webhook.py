"""Verifies Standard Webhooks signatures with the reference implementation (PyPI standardwebhooks).

    python3 verify_webhook.py SECRET < requests.json

stdin: a JSON list of {"headers": {...}, "body": "..."}. Prints "verified N" and exits 0 when every
signature verifies; prints the first failure and exits 1 otherwise.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

secret = sys.argv[1]
requests = json.load(sys.stdin)
hook = Webhook(secret)
for request in requests:
    try:
        hook.verify(request["body"], request["headers"])
    except Exception as error:  # noqa: BLE001 - report any verification failure
        print(f"failed: {error!r} for {request['headers'].get('webhook-id')}")
        sys.exit(1)
print(f"verified {len(requests)}")
