"""The reference for the dedup check's latency (make bench-worker): an independent client that
sends Redis the same kind of request as the worker's check, an MGET of KEYS absent keys, every
INTERVAL_MS for SECONDS, over a raw socket (no client library), while the worker runs. Prints the
p99 (ms) and the percentage of requests answered within 1 ms.

    python3 redis_probe.py REDIS_URL SECONDS INTERVAL_MS KEYS
"""
import socket
import sys
import time
import urllib.parse
import uuid


def main():
    url, seconds, interval, count = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]) / 1000, int(sys.argv[4])
    parsed = urllib.parse.urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port or 6379))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if parsed.password:
        sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(parsed.password), parsed.password.encode()))
        if not sock.recv(64).startswith(b"+OK"):
            sys.exit("AUTH refused")
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        keys = [f"probe:done:{uuid.uuid4()}:bench#0".encode() for _ in range(count)]
        request = b"*%d\r\n$4\r\nMGET\r\n" % (count + 1) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)
        started = time.perf_counter()
        sock.sendall(request)
        reply = b""
        # An array header and one nil ($-1) per absent key: count + 1 lines.
        while reply.count(b"\r\n") < count + 1:
            reply += sock.recv(65536)
        latencies.append(time.perf_counter() - started)
        time.sleep(interval)
    latencies.sort()
    within = 100 * sum(1 for latency in latencies if latency <= 0.001) / len(latencies)
    print(f"{latencies[int(len(latencies) * 0.99)] * 1000:.2f} {within:.1f}")


main()
