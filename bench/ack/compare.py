#!/usr/bin/env python3
"""Side by side with ACK's ecs-controller: 1 cluster + N task definitions + N services applied at once.

One controller at a time, on the environment of `hack/env-up.sh` (a real kube-apiserver and moto), in a
namespace of its own: the controller is started, the objects are applied (`kubectl apply`, 16 files in
flight), and the time until every object is Ready (ours: `Ready=True`; ACK: `ACK.ResourceSynced=True`)
is measured from the start and from the end of the apply, with the controller's peak RSS (VmHWM) and CPU
time at that point. Then everything is deleted at once, until the objects are gone, and the services
still ACTIVE in moto are counted.

    source .local-dev/env && hack/install-crds.sh
    bench/ack/compare.py --controller ours --bin target/release/ecs-controller --n 100
    bench/ack/compare.py --controller ours --bin target/release/ecs-controller --n 100 -- --aws-max-rps 0
    bench/ack/compare.py --controller ack --bin /path/to/ack-ecs-controller --n 100

ACK runs with its chart's defaults (resync 10 h, one concurrent sync per kind, CARM on); its binary is
built from github.com/aws-controllers-k8s/ecs-controller (`go build ./cmd/controller`), which the Go
module proxy does not serve: bench/ack/README.md says how. Results go to stdout as JSON (`--out FILE`
also writes them).

moto does not throttle. Without `--throttle` the numbers compare how each controller spends its time
when AWS answers at once; with it, `throttle.py` answers ECS calls over ECS's documented rates with
ThrottlingException, as a real account does, and both controllers meet the same limits.
"""

import argparse
import concurrent.futures as futures
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kubectl(*args, input_=None, check=True):
    out = subprocess.run(
        ["kubectl", *args], input=input_, capture_output=True, text=True, check=False
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def env_list(name):
    return [v for v in os.environ.get(name, "").split(",") if v]


def manifests(kind_set, ns, n, prefix):
    """The objects to apply, as (plural, name, manifest) in apply order groups."""
    subnets, groups = env_list("ECS_TEST_SUBNETS"), env_list("ECS_TEST_SECURITY_GROUPS")
    container = {"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True,
                 "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}
    out = []
    if kind_set == "ours":
        api = "ecs.kubefargate.dev/v1alpha1"
        out.append(("ecsclusters", "main", {"apiVersion": api, "kind": "EcsCluster",
                    "metadata": {"name": "main", "namespace": ns},
                    "spec": {"clusterName": f"{prefix}-main"}}))
        for i in range(n):
            out.append(("taskdefinitions", f"td-{i}", {"apiVersion": api, "kind": "TaskDefinition",
                        "metadata": {"name": f"td-{i}", "namespace": ns},
                        "spec": {"family": f"{prefix}-td-{i}", "cpu": "256", "memory": "512",
                                 "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                                 "containerDefinitions": [container]}}))
            out.append(("fargateservices", f"svc-{i}", {"apiVersion": api, "kind": "FargateService",
                        "metadata": {"name": f"svc-{i}", "namespace": ns},
                        "spec": {"serviceName": f"{prefix}-svc-{i}", "clusterRef": {"name": "main"},
                                 "taskDefinitionRef": {"name": f"td-{i}"}, "desiredCount": 1,
                                 "launchType": "FARGATE",
                                 "networkConfiguration": {"awsvpcConfiguration": {
                                     "subnets": subnets, "securityGroups": groups}}}}))
    else:
        api = "ecs.services.k8s.aws/v1alpha1"
        out.append(("clusters.ecs.services.k8s.aws", "main", {"apiVersion": api, "kind": "Cluster",
                    "metadata": {"name": "main", "namespace": ns},
                    "spec": {"name": f"{prefix}-main"}}))
        for i in range(n):
            out.append(("taskdefinitions.ecs.services.k8s.aws", f"td-{i}", {"apiVersion": api,
                        "kind": "TaskDefinition", "metadata": {"name": f"td-{i}", "namespace": ns},
                        "spec": {"family": f"{prefix}-td-{i}", "cpu": "256", "memory": "512",
                                 "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                                 "containerDefinitions": [container]}}))
            out.append(("services.ecs.services.k8s.aws", f"svc-{i}", {"apiVersion": api,
                        "kind": "Service", "metadata": {"name": f"svc-{i}", "namespace": ns},
                        "spec": {"name": f"{prefix}-svc-{i}", "clusterRef": {"from": {"name": "main"}},
                                 "taskDefinitionRef": {"from": {"name": f"td-{i}"}}, "desiredCount": 1,
                                 "launchType": "FARGATE",
                                 "networkConfiguration": {"awsVPCConfiguration": {
                                     "subnets": subnets, "securityGroups": groups}}}}))
    return out


def ready(obj, kind_set):
    want = "Ready" if kind_set == "ours" else "ACK.ResourceSynced"
    return any(c.get("type") == want and c.get("status") == "True"
               for c in obj.get("status", {}).get("conditions", []))


def plurals(kind_set):
    if kind_set == "ours":
        return ["ecsclusters", "taskdefinitions", "fargateservices"]
    return ["clusters.ecs.services.k8s.aws", "taskdefinitions.ecs.services.k8s.aws",
            "services.ecs.services.k8s.aws"]


def list_objects(kind_set, ns):
    items = []
    for p in plurals(kind_set):
        items += json.loads(kubectl("get", p, "-n", ns, "-o", "json"))["items"]
    return items


def proc_stats(pid):
    """(peak RSS MiB, CPU seconds) of a live process."""
    hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return hwm, (int(fields[11]) + int(fields[12])) / ticks


def active_services(prefix):
    """Services of this run still ACTIVE in moto (via the moto environment's boto3)."""
    code = (
        "import boto3,json,sys\n"
        "e=boto3.client('ecs')\n"
        "n=0\n"
        "for c in e.list_clusters()['clusterArns']:\n"
        "  arns=[a for a in e.list_services(cluster=c, maxResults=100)['serviceArns'] if sys.argv[1] in a]\n"
        "  for i in range(0,len(arns),10):\n"
        "    n+=sum(1 for s in e.describe_services(cluster=c,services=arns[i:i+10])['services'] if s['status']=='ACTIVE')\n"
        "print(n)\n"
    )
    py = os.environ.get("ECS_TEST_PYTHON", sys.executable)
    out = subprocess.run([py, "-c", code, prefix], capture_output=True, text=True, check=False)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def start_throttle():
    """`throttle.py` in front of moto: ECS's documented throttling; (process, its URL)."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("throttle.py")),
                             "--upstream", os.environ["MOTO_URL"]],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        sys.exit(f"throttle.py did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def start(kind_set, binary, ns, extra, log, endpoint):
    env = dict(os.environ)
    env["AWS_ENDPOINT_URL"] = endpoint
    if kind_set == "ours":
        args = [binary, "run", "--watch-namespace", ns, "--metrics-bind-address", "127.0.0.1:0", *extra]
    else:
        env["ACK_SYSTEM_NAMESPACE"] = ns
        # With AWS_CA_BUNDLE set (the environment's, for TLS endpoints) the Go SDK refuses ACK's HTTP
        # client ("unable to add custom RootCAs HTTPClient"); moto answers over http.
        env.pop("AWS_CA_BUNDLE", None)
        # The chart's defaults (helm/values.yaml of v1.2.1): resync 10 h, 1 concurrent sync, CARM on.
        args = [binary, "--aws-region", os.environ.get("AWS_REGION", "us-east-1"),
                "--aws-endpoint-url", endpoint,
                "--aws-identity-endpoint-url", os.environ["MOTO_URL"],
                "--allow-unsafe-aws-endpoint-urls",  # moto answers over http
                "--log-level", "info",
                "--watch-namespace", ns, "--deletion-policy", "delete",
                "--reconcile-default-resync-seconds", "36000",
                "--reconcile-default-max-concurrent-syncs", "1", "--enable-carm=true",
                *extra]  # the API server: $KUBECONFIG (controller-runtime reads it)
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--controller", choices=["ours", "ack"], required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--delete-timeout", type=float, default=600,
                    help="how long the deletion may take before the objects left are counted")
    ap.add_argument("--out")
    ap.add_argument("--throttle", action="store_true",
                    help="put throttle.py (ECS's documented request throttling) between the controller and moto")
    ap.add_argument("extra", nargs="*", help="more controller flags (after --)")
    a = ap.parse_args()

    prefix = f"cmp{a.controller}{int(time.time()) % 100000}"
    ns = prefix
    kubectl("create", "namespace", ns)
    if a.controller == "ack":
        crds = sorted((Path(a.bin).resolve().parent / "helm" / "crds").glob("*.yaml"))
        if not crds:
            sys.exit("ACK's CRDs: expected helm/crds/*.yaml next to the binary (the ecs-controller checkout)")
        for c in crds:
            kubectl("apply", "--server-side", "-f", str(c))
    logf = open(Path(tempfile.gettempdir()) / f"{prefix}.controller.log", "w")
    throttle, endpoint = start_throttle() if a.throttle else (None, os.environ["MOTO_URL"])
    proc = start(a.controller, a.bin, ns, a.extra, logf, endpoint)
    result = {"controller": a.controller, "n": a.n, "flags": a.extra, "binary": a.bin,
              "ecs_throttling": a.throttle}
    try:
        time.sleep(3)  # the controller's watches (both need about a second against this apiserver)
        objs = manifests(a.controller, ns, a.n, prefix)
        tmp = Path(tempfile.mkdtemp(prefix=prefix))
        files = []
        for i in range(0, len(objs), 8):
            f = tmp / f"{i:05d}.json"
            f.write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                     "items": [o[2] for o in objs[i:i + 8]]}))
            files.append(f)
        t0 = time.monotonic()
        with futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda f: kubectl("apply", "-f", str(f)), files))
        t_applied = time.monotonic()
        total = len(objs)
        while True:
            items = list_objects(a.controller, ns)
            done = sum(1 for o in items if ready(o, a.controller))
            if done == total:
                t_ready = time.monotonic()
                break
            if proc.poll() is not None:
                raise SystemExit(f"the controller exited ({proc.returncode}): see {logf.name}")
            if time.monotonic() - t0 > a.timeout:
                raise SystemExit(f"timed out: {done}/{total} Ready")
            time.sleep(0.2)
        rss, cpu = proc_stats(proc.pid)
        result.update({
            "objects": total,
            "apply_seconds": round(t_applied - t0, 2),
            "ready_after_apply_started_s": round(t_ready - t0, 2),
            "ready_after_apply_ended_s": round(t_ready - t_applied, 2),
            "peak_rss_mib": round(rss, 1),
            "cpu_seconds_to_converge": round(cpu, 2),
        })
        # Delete everything at once, until the objects are gone.
        d0 = time.monotonic()
        with futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda p: kubectl("delete", p, "--all", "-n", ns, "--wait=false"),
                          plurals(a.controller)))
        gone = None
        while time.monotonic() - d0 < a.delete_timeout:
            if not list_objects(a.controller, ns):
                gone = round(time.monotonic() - d0, 2)
                break
            time.sleep(0.5)
        result["delete_gone_seconds"] = gone
        if gone is None:
            result["delete_objects_left"] = len(list_objects(a.controller, ns))
        result["services_left_active_in_aws"] = active_services(prefix)
        result["peak_rss_mib_end"] = round(proc_stats(proc.pid)[0], 1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if throttle:
            throttle.send_signal(signal.SIGTERM)
            counts = json.loads(throttle.stdout.read().strip() or "{}")
            throttle.wait(timeout=30)
            result["ecs_calls_forwarded"] = sum(c["forwarded"] for c in counts.values())
            result["ecs_calls_throttled"] = sum(c["throttled"] for c in counts.values())
            result["ecs_calls_by_action"] = counts
        # Objects a controller left behind (ACK's finalizers) are released so the namespace goes.
        for p in plurals(a.controller):
            names = kubectl("get", p, "-n", ns, "-o", "name", check=False).split()
            for n in names:
                kubectl("patch", n, "-n", ns, "--type", "merge", "-p",
                        '{"metadata":{"finalizers":null}}', check=False)
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
