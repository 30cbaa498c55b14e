#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A fake ksense node agent for the scaler's tests (Python standard library only).

    python3 selftests/fake_agent.py --port 0 --port-file F --pods-file P [--delay-ms N]

GET /pods answers with the bytes of P as they are at that moment (so a test
rewrites P between polls: write a temporary file and rename it), 503 when P
does not exist.  --delay-ms holds every answer (a slow node).  Every request
is appended to P.log as "<unix time> <path>".  Exit 0 on SIGTERM.
"""
import argparse
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pods-file", required=True)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            with open(args.pods_file + ".log", "a") as f:
                f.write("%.3f %s\n" % (time.time(), self.path))
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000.0)
            try:
                with open(args.pods_file, "rb") as f:
                    body, code = f.read(), 200
            except OSError:
                body, code = b"no report yet\n", 503
            if self.path != "/pods":
                body, code = b"not found\n", 404
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        srv.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
