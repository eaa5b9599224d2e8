#!/usr/bin/env python3
"""An HTTP proxy in front of moto that throttles Amazon ECS actions as ECS does.

moto never throttles, so a controller that paces its calls (ours, with its shipped defaults) and one
that does not (ACK) cannot be compared on it: the second looks faster than it would be against a real
account. This proxy gives each group of ECS actions the token bucket ECS documents for it ("Request
throttling for the Amazon ECS API", Amazon ECS API Reference: maximum capacity = burst, refill rate =
calls per second, one bucket per group, per account and Region) and answers a call that finds its
bucket empty the way ECS does: HTTP 400, `ThrottlingException`, "Rate exceeded". Everything else
(other ECS actions, STS, Application Auto Scaling) is forwarded unchanged.

    throttle.py --upstream http://127.0.0.1:5000 --port 0   # prints "listening on http://127.0.0.1:PORT"

On SIGTERM it prints, as JSON on stdout, the calls forwarded and throttled per action.
"""

import argparse
import http.client
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Group: (maximum capacity, refill rate per second), from "Request throttling for the Amazon ECS API".
GROUPS = {
    "cluster modify": (20, 1.0),
    "cluster read": (50, 20.0),
    "task definition modify": (20, 1.0),
    "task definition read": (50, 20.0),
    "task definition deletion": (5, 1.0),
    "tag modify": (20, 10.0),
    "cluster resource modify": (100, 40.0),
    "cluster resource read": (100, 20.0),
    "service modify": (50, 5.0),
    "service read": (100, 20.0),
}

ACTIONS = {
    "CreateCluster": "cluster modify", "UpdateCluster": "cluster modify",
    "DeleteCluster": "cluster modify", "PutClusterCapacityProviders": "cluster modify",
    "UpdateClusterSettings": "cluster modify",
    "DescribeClusters": "cluster read", "ListClusters": "cluster read",
    "RegisterTaskDefinition": "task definition modify",
    "DeregisterTaskDefinition": "task definition modify",
    "DescribeTaskDefinition": "task definition read", "ListTaskDefinitions": "task definition read",
    "ListTaskDefinitionFamilies": "task definition read",
    "DeleteTaskDefinitions": "task definition deletion",
    "TagResource": "tag modify", "UntagResource": "tag modify",
    "RunTask": "cluster resource modify", "StartTask": "cluster resource modify",
    "StopTask": "cluster resource modify",
    "DescribeTasks": "cluster resource read", "ListTasks": "cluster resource read",
    "CreateService": "service modify", "UpdateService": "service modify",
    "DeleteService": "service modify",
    "DescribeServices": "service read", "ListServices": "service read",
    "DescribeServiceDeployments": "service read",
}

ECS_TARGET = "AmazonEC2ContainerServiceV20141113."


class Bucket:
    def __init__(self, burst, per_second):
        self.burst, self.rate = float(burst), per_second
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, upstream):
        super().__init__(addr, Handler)
        u = urlsplit(upstream)
        self.upstream = (u.hostname, u.port or 80)
        self.buckets = {g: Bucket(*v) for g, v in GROUPS.items()}
        self.counts = {}
        self.lock = threading.Lock()

    def count(self, action, outcome):
        with self.lock:
            c = self.counts.setdefault(action, {"forwarded": 0, "throttled": 0})
            c[outcome] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.relay()

    def do_GET(self):
        self.relay()

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        action = target[len(ECS_TARGET):] if target.startswith(ECS_TARGET) else None
        group = ACTIONS.get(action) if action else None
        if group and not self.server.buckets[group].take():
            self.server.count(action, "throttled")
            answer = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-ErrorType", "ThrottlingException")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        if action:
            self.server.count(action, "forwarded")
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    server = Proxy(("127.0.0.1", a.port), a.upstream)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    print(json.dumps(server.counts, sort_keys=True), flush=True)


if __name__ == "__main__":
    sys.exit(main())
