#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The NRI v2 tests: Debian 13's containerd 1.7.24 (unpacked into the build
tree by fetch-containerd.sh, never installed), its CRI plugin with runc, NRI
enabled on a private socket, private root, state and plugin directories;
tierwalld on the host with a private cgroup root; tierwall-nri-plugin as the
DaemonSet runs it (external, connecting to the NRI socket) and as the runtime
starts it (pre-installed in the plugin directory). This script stands in for
the kubelet (cri.py). Traffic goes to loopback.

Prints one line per test and "N passed, N failed, N skipped"."""
import json, os, shutil, signal, subprocess, sys, threading, time, traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TW_BUILD_DIR", os.path.join(ROOT, "build"))
os.environ.setdefault("TW_CRI_PY", os.path.join(BUILD, "k8s", "py"))
VERSION = "1.7.24"
CTRD = os.path.join(BUILD, f"containerd-{VERSION}")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import POLICY, PORT, PROBE, check, lines, test  # noqa: E402


def skip_all(reason):
    harness.skip_all("nri2", reason)


def preflight():
    harness.preflight("nri2", ("runc",), ("grpc",))
    for t in ("k8s/pause.tar", "k8s/work.tar", "k8s/py/cri_harness_pb2.py", "tierwalld", "tierwall",
              "tierwall-nri-plugin"):
        if not os.path.exists(os.path.join(BUILD, t)):
            skip_all(f"{BUILD}/{t} is missing (make all k8s-test-deps)")
    if not os.path.exists(CTRD + "/usr/bin/containerd"):
        r = subprocess.run([os.path.join(ROOT, "tests/k8s/fetch-containerd.sh"), CTRD],
                           capture_output=True, text=True)
        if r.returncode:
            skip_all(f"containerd {VERSION} is not available: {r.stdout.strip() or r.stderr.strip()}")


preflight()
import grpc  # noqa: E402
import cri  # noqa: E402

D = f"/tmp/tw-nri2-{os.getpid()}"
CG = f"tw-nri2-{os.getpid()}"
CG2 = next(l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "cgroup2")
PARENT = f"/{CG}/kubepods/besteffort"
TWSOCK = D + "/run/tierwall.sock"
# Pending pods (fail closed in the kernel below the pods' roots), where the tree has them.
PENDING = os.path.exists(os.path.join(ROOT, "user/daemon/pending.c"))
if PENDING:
    POLICY = dict(POLICY, kubernetes=dict(POLICY["kubernetes"], pods_roots=["/kubepods"]))
# Prod's and staging's destinations in turn, every 0.2 s.
LOOP2 = ["/bin/sh", "-c", f"while :; do /usr/bin/tw_probe tcp-connect 127.20.0.1 {PORT}; "
         f"/usr/bin/tw_probe tcp-connect 127.30.0.1 {PORT}; sleep 0.2; done"]
ENV = dict(os.environ, PATH=f"{CTRD}/usr/bin:{os.environ['PATH']}")   # 1.7's own shim first



def sh(*cmd, **kw):
    return harness.sh(*cmd, env=ENV, **kw)


def wait_for(what, fn, timeout=20):
    """fn() until true: bounded in time, for an event another process makes."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def text(path):
    try:
        return open(path).read()
    except OSError:
        return ""


class World:
    def __init__(self):
        self.containerd = self.plugin = self.daemon = None
        try:
            self.setup()
        except Exception:
            self.close()          # what did start stops again
            raise

    def setup(self):
        for d in ("run/containerd", "nri/plugins", "nri/conf.d", "log", "state", "bpf", "logs"):
            os.makedirs(f"{D}/{d}", exist_ok=True)
        conf = open(os.path.join(ROOT, "tests/k8s/containerd17.toml.in")).read().replace("@DIR@", D)
        open(D + "/config.toml", "w").write(conf)
        self.sock = D + "/run/containerd/containerd.sock"
        self.nri = D + "/nri/nri.sock"
        self.starts = 0
        self.start_containerd()
        for img in (BUILD + "/k8s/pause.tar", BUILD + "/k8s/work.tar"):
            sh("ctr", "--address", self.sock, "-n", "k8s.io", "images", "import", img)
        sh("mount", "-t", "bpf", "bpf", D + "/bpf")
        os.makedirs(f"{CG2}/{CG}/kubepods", exist_ok=True)
        open(D + "/policy.json", "w").write(json.dumps(POLICY))
        self.start_daemon()

    def start_containerd(self):
        self.starts += 1
        self.log_path = f"{D}/containerd.{self.starts}.log"
        log = open(self.log_path, "w")
        self.containerd = subprocess.Popen([CTRD + "/usr/bin/containerd", "--config", D + "/config.toml"],
                                           stdout=log, stderr=log, env=ENV)
        wait_for("containerd's CRI socket", lambda: os.path.exists(self.sock) and
                 "containerd successfully booted" in text(self.log_path), 60)
        self.cri = cri.CRI(self.sock, D + "/logs")

    def stop_containerd(self):
        harness.stop_containerd(self.containerd, getattr(self, "cri", None) or cri.CRI(self.sock, D))
        for p in (self.sock, self.nri):
            if os.path.exists(p):
                os.unlink(p)

    def start_daemon(self):
        out = open(D + "/tierwalld.out", "a")
        self.daemon = subprocess.Popen(
            [BUILD + "/tierwalld", "--policy", D + "/policy.json", "--cgroup-root", f"{CG2}/{CG}",
             "--log-dir", D + "/log", "--pin-dir", D + "/bpf/tw", "--socket", TWSOCK,
             "--state-dir", D + "/state"], stdout=out, stderr=out)
        r = subprocess.run([BUILD + "/tierwall", "--socket", TWSOCK, "status", "--wait=30"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"tierwalld ready: {r.stdout} {r.stderr} {text(D + '/tierwalld.out')[-2000:]}")

    def stop_daemon(self):
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(20)

    def start_plugin(self):
        """External, as the DaemonSet runs it."""
        self.plugin_log = D + "/plugin.log"
        n = text(self.plugin_log).count("configured by") + 1
        log = open(self.plugin_log, "a")
        self.plugin = subprocess.Popen([BUILD + "/tierwall-nri-plugin", "--nri-socket", self.nri,
                                        "--socket", TWSOCK], stdout=log, stderr=log)
        self.wait_configured(n)

    def wait_configured(self, n, log=None):
        wait_for(f"the plugin configured {n} time(s)",
                 lambda: text(log or self.plugin_log).count("configured by") >= n, 30)

    def events(self):
        try:
            return [json.loads(l) for l in open(D + "/log/events.jsonl")]
        except OSError:
            return []

    def workload(self, name, namespace, tier, command=PROBE):
        labels = {"tierwall.io/tier": tier} if tier else {}
        pod = self.cri.pod(name, namespace, labels, cgroup_parent=PARENT)
        return pod, pod.container("app", "tierwall.test/work:1", command)

    def close(self):
        if self.plugin:
            self.plugin.kill()
            self.plugin.wait()
        if self.containerd and self.containerd.poll() is None:
            self.stop_containerd()
        if self.daemon and self.daemon.poll() is None:
            self.stop_daemon()


def cleanup(world):
    if world:
        world.close()
    harness.unmount_below(D)
    harness.remove_cgroups(CG)
    shutil.rmtree(D, ignore_errors=True)


W = None


def refused_first_connect(name, log=None):
    """A staging pod's first command is refused prod, and the event names it."""
    pod, cid = W.workload(name, "shop", "staging")
    st = W.cri.wait_exit(cid)
    check(st.exit_code == 1 and "Operation not permitted" in pod.log("app"),
          f"{name}'s first connect: exit {st.exit_code} ({pod.log('app').strip()}); plugin: "
          f"{text(log or W.plugin_log)[-1500:]}")
    ev = wait_for(f"{name}'s connect event", lambda: [e for e in W.events()
                                                      if e.get("kind") == "connect" and e.get("pod") == name])
    check(ev[0]["namespace"] == "shop" and ev[0]["container"] == "app" and ev[0]["tier"] == "staging"
          and ev[0]["target_tier"] == "prod", f"the event names pod, namespace and container: {ev[0]}")


@test("nri2_plugin_registers_with_containerd_1.7")
def t_register():
    W.start_plugin()
    check(VERSION in text(W.plugin_log), f"configured by containerd {VERSION}: {text(W.plugin_log)}")
    wait_for("Synchronize answered", lambda: "synchronized" in text(W.plugin_log))


def tagged(cgroup_suffix):
    """The daemon's tags (its answer, not the log) of cgroups ending so."""
    r = sh(BUILD + "/tierwall", "--socket", TWSOCK, "--json", "tiers")
    return [t for t in json.loads(r.stdout)["tags"] if json.dumps(t).find(cgroup_suffix + '"') >= 0]


@test("nri2_pod_tagged_when_run_pod_sandbox_returns")
def t_sandbox():
    pod = W.cri.pod("sandbox-only", "shop", {"tierwall.io/tier": "staging"}, cgroup_parent=PARENT)
    tags = tagged("/pod" + pod.uid)               # at once: RunPodSandbox waited for the tag
    check(len(tags) == 1 and tags[0]["tier"] == "staging",
          f"the pod's cgroup is tagged before any container is created: {tags}")


@test("nri2_staging_pod_first_connect_refused")
def t_staging():
    refused_first_connect("web")


@test("nri2_prod_and_untiered_pods_reach_listener")
def t_prod():
    for name, ns in (("pay", "payments"), ("plain", "default")):
        pod, cid = W.workload(name, ns, None)
        st = W.cri.wait_exit(cid)
        check(st.exit_code == 0, f"{name} ({ns}): exit {st.exit_code} ({pod.log('app').strip()})")


@test("nri2_unknown_tier_does_not_start")
def t_unknown():
    try:
        W.workload("typo", "shop", "qa")
    except grpc.RpcError as e:
        check("names a tier the policy does not define" in e.details(), e.details())
        return
    raise AssertionError("a pod with tier qa started")


@test("nri2_daemon_down_pod_refused_within_runtime_deadline")
def t_daemon_down():
    W.stop_daemon()
    try:
        t0 = time.time()
        try:
            W.workload("late", "shop", "staging")
            raise AssertionError("a staging pod started without tierwalld")
        except grpc.RpcError as e:
            check("did not confirm the tier" in e.details(), e.details())
        took = time.time() - t0
        pod, cid = W.workload("dns", "kube-system", None)
        code = W.cri.wait_exit(cid).exit_code
        if PENDING:     # it starts, pending: refused what a tier owns until tierwalld places it
            check(code == 1 and "Operation not permitted" in pod.log("app"),
                  f"an exempt pod starts without tierwalld, pending: {pod.log('app')}")
        else:
            check(code == 0, "an exempt pod starts without tierwalld")
        check(W.plugin.poll() is None and text(W.plugin_log).count("configured by") == 1,
              f"the plugin answered within the runtime's deadline and stayed connected: {text(W.plugin_log)}")
        print(f"    (refused after {took:.1f}s)")
    finally:
        W.start_daemon()


@test("nri2_runtime_restarted_plugin_reconnects")
def t_restart():
    W.stop_containerd()
    W.start_containerd()
    W.wait_configured(2)
    refused_first_connect("after-restart")


@test("nri2_plugin_restarted_reconnects")
def t_plugin_restart():
    W.plugin.kill()
    W.plugin.wait()
    W.start_plugin()
    W.wait_configured(3)
    refused_first_connect("after-plugin-restart")


def probes(pod, addr):
    return [l for l in lines(pod) if f" {addr}:" in l]


def wait_probes(pod, addr, n):
    return wait_for(f"{n} probes of {addr} by {pod.name}", lambda: len(probes(pod, addr)) >= n and
                    probes(pod, addr))


def refused(ls):
    return ls and all("Operation not permitted" in l for l in ls)


def allowed(ls):
    return ls and all(l.endswith("allowed") for l in ls)


@test("nri2_agent_stopped_new_pods_pending_then_placed")
def t_pending():
    keeps, _ = W.workload("keeps", "shop", "staging", LOOP2)
    check(refused(wait_probes(keeps, "127.20.0.1", 1)) and allowed(wait_probes(keeps, "127.30.0.1", 1)),
          f"a running staging pod: prod refused, staging reached: {lines(keeps)}")
    # The agent's pod goes away (its plugin with it), then tierwalld (SIGTERM).
    W.plugin.kill()
    W.plugin.wait()
    W.stop_daemon()
    new, _ = W.workload("while-down", "shop", "staging", LOOP2)    # no plugin: containerd starts it
    plain, _ = W.workload("plain-down", "default", None, LOOP2)
    for pod in (new, plain):
        for addr in ("127.20.0.1", "127.30.0.1"):
            got = wait_probes(pod, addr, 2)
            check(refused(got), f"{pod.name}, started without an agent, is pending: {addr}: {got}")
    n, m = len(probes(keeps, "127.20.0.1")), len(probes(keeps, "127.30.0.1"))
    check(refused(wait_probes(keeps, "127.20.0.1", n + 2)[n:]) and
          allowed(wait_probes(keeps, "127.30.0.1", m + 2)[m:]), "the running pod keeps its tier")
    # The agent is back: the plugin's Synchronize places every pending pod.
    W.start_daemon()
    W.start_plugin()
    def pod_tags():
        t = [e for e in W.events() if e.get("event") == "tag" and not e.get("meta", {}).get("container")
             and e.get("meta", {}).get("pod") in ("while-down", "plain-down")]
        return t if len(t) >= 2 else None
    tags = wait_for("the pending pods placed", pod_tags)
    start = [e for e in W.events() if e.get("event") == "start"][-1]
    took = max(harness.ts(e) for e in tags) - harness.ts(start)
    n = len(probes(new, "127.30.0.1"))
    check(allowed(wait_probes(new, "127.30.0.1", n + 2)[n + 1:]), "the staging pod reaches staging again")
    n = len(probes(plain, "127.20.0.1"))
    check(allowed(wait_probes(plain, "127.20.0.1", n + 2)[n + 1:]), "the untiered pod is released")
    ev = [e for e in W.events() if e.get("kind") == "connect" and e.get("pending")
          and new.uid in (e.get("cgroup") or "")]
    check(ev and ev[0]["tier"] is None, f"decisions on the pending pod say so: {ev[:1]}")
    print(f"    (placed {took * 1000:.0f} ms after tierwalld's start record)")


@test("nri2_plugin_killed_while_pods_start_none_untiered")
def t_killed():
    """A staging and a prod pod start while the plugin is killed mid-way: whether the runtime
    refused one, or started it unplaced (pending) or placed, neither ever reaches the other's
    tier; once the plugin is back, each reaches its own."""
    started, threads = {}, []
    other = {"k-staging": "127.20.0.1", "k-pay": "127.30.0.1"}
    own = {"k-staging": "127.30.0.1", "k-pay": "127.20.0.1"}

    def start(name, ns, tier):
        try:
            started[name] = W.workload(name, ns, tier, LOOP2)[0]
        except grpc.RpcError as e:
            started[name] = e

    W.daemon.send_signal(signal.SIGSTOP)        # the plugin's calls wait on tierwalld meanwhile
    try:
        for args in (("k-staging", "shop", "staging"), ("k-pay", "payments", None)):
            threads.append(threading.Thread(target=start, args=args))
            threads[-1].start()
        wait_for("a pod start reaching containerd", lambda: "Name:k-" in text(W.log_path))
        W.plugin.kill()
        W.plugin.wait()
    finally:
        W.daemon.send_signal(signal.SIGCONT)
    for t in threads:
        t.join(60)
    check(len(started) == 2, f"both starts returned: {started}")
    pods = [p for p in started.values() if not isinstance(p, Exception)]
    for pod in pods:
        got = wait_probes(pod, other[pod.name], 2)
        check(refused(got), f"{pod.name} started with its plugin killed: never the other tier's: {got}")
    W.start_plugin()                              # its Synchronize places what is pending
    for pod in pods:
        n = len(probes(pod, own[pod.name]))
        check(allowed(wait_probes(pod, own[pod.name], n + 2)[n + 1:]), f"{pod.name} reaches its own tier")
        n = len(probes(pod, other[pod.name]))
        check(refused(wait_probes(pod, other[pod.name], n + 2)), f"{pod.name}: and never the other's")
    print(f"    ({len(pods)} of 2 pods started; refused: "
          f"{[e.details()[:80] for e in started.values() if isinstance(e, Exception)]})")


@test("nri2_preinstalled_plugin")
def t_preinstalled():
    W.plugin.kill()
    W.plugin.wait()
    W.plugin = None
    shutil.copy(BUILD + "/tierwall-nri-plugin", D + "/nri/plugins/10-tierwall")
    open(D + "/nri/conf.d/10-tierwall.conf", "w").write(json.dumps({"socket": TWSOCK}))
    W.stop_containerd()
    W.start_containerd()
    wait_for("the pre-installed plugin registered",
             lambda: "pre-connected:10-tierwall" in text(W.log_path), 30)
    kids = sh("ps", "-o", "pid=,args=", "--ppid", str(W.containerd.pid)).stdout
    check("10-tierwall" in kids, f"containerd started the plugin itself: {kids}")
    refused_first_connect("preinstalled", log=W.log_path)


def main():
    global W
    lsock = harness.Listener("127.20.0.1", PORT)
    lsock2 = harness.Listener("127.30.0.1", PORT)          # staging's
    try:
        W = World()
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(limit=3, file=sys.stdout)
        cleanup(W)
        lsock.close()
        lsock2.close()
        print(f"FAIL nri2: containerd {VERSION} or tierwalld cannot run here: {e}")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    try:
        harness.run_all((t_register, t_sandbox, t_staging, t_prod, t_unknown, t_daemon_down, t_restart,
                         t_plugin_restart) + ((t_pending, t_killed) if PENDING else ()) +
                        (t_preinstalled,), "the plugin did not register")
        for name in () if PENDING else ("nri2_agent_stopped_new_pods_pending_then_placed",
                                        "nri2_plugin_killed_while_pods_start_none_untiered"):
            print(f"SKIP {name}: this tree has no pending pods (user/daemon/pending.c)")
            harness.results.append("skip")
    finally:
        if os.environ.get("TW_NRI2_KEEP"):
            for f in os.listdir(D):
                if f.endswith(".log") or f.endswith(".out"):
                    print(f"---- {f}\n{text(D + '/' + f)[-3000:]}")
        cleanup(W)
        lsock.close()
        lsock2.close()
    return harness.summary()


if __name__ == "__main__":
    sys.exit(main())
