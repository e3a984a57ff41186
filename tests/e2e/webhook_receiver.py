#!/usr/bin/env python3
"""tests/e2e/webhook_receiver.py — an HTTPS webhook receiver that misbehaves
on purpose, for e2e.webhook_delivery (docs/webhooks.md).

    webhook_receiver.py DIR

makes a test CA and a certificate for 127.0.0.1 with openssl in DIR
(ca.pem is what the notifier is told to trust), listens on 127.0.0.1 on a
free port, writes the port to DIR/port, and appends one JSON line per
request it reads to DIR/requests.jsonl:

    {"path", "id", "event", "timestamp", "signature", "body", "fault", "accepted"}

Paths:
  /flaky  each idempotency key gets a fixed plan of faults (by a hash of
          the key), one fault per try until the plan is spent, then 200:
            ok       200 at once
            500      answers 500
            stall    reads the request, then sleeps past the notifier's
                     timeout (STALL_S) before answering
            close    accepts the delivery (records it as accepted), then
                     closes the connection without an answer: the sender
                     must try again, so the receiver accepts it twice
  /dead   500, until the file DIR/dead.open exists; then 200.

"accepted" marks the deliveries the receiver took (a 200 it sent, or the
close fault); the test checks those for signatures and duplicates.
"""
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time

STALL_S = 4.0  # the e2e test gives the notifier a 1.5 s timeout
PLANS = [[], ["500"], ["stall"], ["close"], ["500", "stall", "close"]]


def make_certs(d):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca = os.path.join(d, "ca-key.pem"), os.path.join(d, "ca.pem")
    key, csr, cert = (os.path.join(d, n) for n in ("key.pem", "csr.pem", "cert.pem"))
    ext = os.path.join(d, "san.ext")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=outdial test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return cert, key


class State:
    lock = threading.Lock()
    tries = {}  # idempotency key -> tries seen on /flaky
    log = None
    dead_open = None


def fault_for(key):
    with State.lock:
        n = State.tries.get(key, 0)
        State.tries[key] = n + 1
    plan = PLANS[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(PLANS)]
    return plan[n] if n < len(plan) else "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        # The TLS handshake here, in the request's thread (get_request
        # leaves it undone); a client that never finishes it is dropped.
        self.request.settimeout(30)
        self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def record(self, body, fault, accepted):
        line = json.dumps({
            "path": self.path,
            "id": self.headers.get("Outdial-Webhook-Id"),
            "event": self.headers.get("Outdial-Event"),
            "timestamp": self.headers.get("Outdial-Timestamp"),
            "signature": self.headers.get("Outdial-Signature"),
            "body": body,
            "fault": fault,
            "accepted": accepted,
        })
        with State.lock:
            State.log.write(line + "\n")
            State.log.flush()

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"no")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        key = self.headers.get("Outdial-Webhook-Id") or ""
        if self.path == "/dead":
            if os.path.exists(State.dead_open):
                self.record(body, "ok", True)
                self.answer(200)
            else:
                self.record(body, "500", False)
                self.answer(500)
            return
        if self.path != "/flaky":
            self.record(body, "404", False)
            self.answer(404)
            return
        fault = fault_for(key)
        if fault == "ok":
            self.record(body, fault, True)
            self.answer(200)
        elif fault == "500":
            self.record(body, fault, False)
            self.answer(500)
        elif fault == "stall":
            self.record(body, fault, False)
            time.sleep(STALL_S)
            try:
                self.answer(200)  # too late: the sender gave up
            except OSError:
                pass
        else:  # close: taken, but the sender never hears it
            self.record(body, fault, True)
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, ctx):
        super().__init__(addr, handler)
        self.ctx = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs in the request's thread: a slow client never
        # holds up the others.
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # a client that hung up (the notifier's timeout) is expected


def main():
    d = sys.argv[1]
    cert, key = make_certs(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    State.log = open(os.path.join(d, "requests.jsonl"), "a")
    State.dead_open = os.path.join(d, "dead.open")
    srv = Server(("127.0.0.1", 0), Handler, ctx)
    tmp = os.path.join(d, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(d, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
