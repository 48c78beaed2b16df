#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The runtime tests: Debian's containerd 1.6 (CRI plugin, runc, NRI v0.1)
on a private socket and root, the cgroupfs driver, host-network pods, images
from local archives. This script stands in for the kubelet only: it reads
deploy/kubernetes/overlays/containerd-1.6 as Debian 13's kustomize renders it
(tests/trixie.sh) and turns its DaemonSet into CRI calls (init container,
privileges, namespaces, mounts), then runs labelled workload pods; last, the
uninstall overlay's pod, as one node's rolling update would run it.

Host paths of the manifest's volumes are private to the test (under its
directory), except the ones containerd and the kernel fix: /sys/fs/cgroup,
/sys/kernel/btf, and the NRI hook's /opt/nri/bin and /etc/nri/conf.json
(containerd 1.6 reads no other place; both are removed at the end, and the
test skips if the machine has a conf.json of its own). The daemon gets a
private cgroup root; pods are parented below it. Traffic goes to loopback.

Prints one line per test and "N passed, N failed, N skipped"."""
import json, os, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TW_BUILD_DIR", os.path.join(ROOT, "build"))
os.environ.setdefault("TW_CRI_PY", os.path.join(BUILD, "k8s", "py"))
NRI_CONF, NRI_BIN = "/etc/nri/conf.json", "/opt/nri/bin"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import LOOP, POLICY, PORT, PROBE, check, lines, sh, test, ts, wait_lines  # noqa: E402


def skip_all(reason):
    harness.skip_all("k8s", reason)


def preflight():
    harness.preflight("k8s", ("containerd", "ctr", "runc"), ("grpc", "yaml"))
    if os.path.exists(NRI_CONF):
        skip_all(f"{NRI_CONF} exists on this machine: the test will not replace another NRI setup")
    if not any(l.split()[2] == "cgroup2" for l in open("/proc/mounts")):
        skip_all("no cgroup2 mount")
    global KUSTOMIZE
    KUSTOMIZE, why = kustomize.find()
    if not KUSTOMIZE:
        skip_all(f"no kustomize to render the manifests: {why}")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize  # noqa: E402


preflight()
import grpc  # noqa: E402
import yaml  # noqa: E402
import cri  # noqa: E402

D = f"/tmp/tw-k8s-{os.getpid()}"
CG = f"tw-k8s-{os.getpid()}"                 # the private cgroup subtree
CG2 = next(l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "cgroup2")
PARENT = f"/{CG}/kubepods/besteffort"
created = []                                  # host paths this test made outside D


# ---- the world: containerd, images, the manifest ----

class World:
    def __init__(self):
        os.makedirs(D + "/host", exist_ok=True)
        os.makedirs(D + "/run/containerd", exist_ok=True)
        conf = open(os.path.join(ROOT, "tests/k8s/containerd.toml.in")).read().replace("@DIR@", D)
        open(D + "/config.toml", "w").write(conf)
        self.log = open(D + "/containerd.log", "w")
        self.containerd = subprocess.Popen(["containerd", "--config", D + "/config.toml"],
                                           stdout=self.log, stderr=self.log)
        self.sock = D + "/run/containerd/containerd.sock"
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.1)
        check(os.path.exists(self.sock), "containerd did not start (see containerd.log)")
        for img in (BUILD + "/k8s/pause.tar", BUILD + "/k8s/work.tar", BUILD + "/tierwall-image.tar"):
            sh("ctr", "--address", self.sock, "-n", "k8s.io", "images", "import", img)
        self.cri = cri.CRI(self.sock, D + "/logs")
        # bpffs for the agent's pins: private, and shared so Bidirectional propagation is allowed.
        os.makedirs(D + "/bpf", exist_ok=True)
        sh("mount", "-t", "bpf", "bpf", D + "/bpf")
        sh("mount", "--make-shared", D + "/bpf")
        os.makedirs(f"{CG2}/{CG}", exist_ok=True)
        self.manifest = kustomize.render(KUSTOMIZE, "deploy/kubernetes/overlays/containerd-1.6")
        self.ds = next(d for d in self.manifest if d["kind"] == "DaemonSet")
        self.ns = self.ds["metadata"]["namespace"]
        self.agent = None

    def host(self, path):
        """Where a hostPath of the manifest lives for this test."""
        if path in ("/sys/fs/cgroup", "/sys/kernel/btf", NRI_BIN, "/etc/nri"):
            return path
        if path == "/sys/fs/bpf":
            return D + "/bpf"
        if path == "/run/containerd":                # the CRI socket of the test's containerd
            return D + "/run/containerd"
        return D + "/host" + path

    def configmap(self, text, version):
        """The kubelet's ConfigMap layout: ..TS/policy.json, ..data -> ..TS, policy.json -> ..data/."""
        cm = D + "/configmap"
        os.makedirs(f"{cm}/..{version}", exist_ok=True)
        open(f"{cm}/..{version}/policy.json", "w").write(text)
        os.symlink(f"..{version}", f"{cm}/..data_tmp")
        os.rename(f"{cm}/..data_tmp", f"{cm}/..data")
        if not os.path.islink(f"{cm}/policy.json"):
            os.symlink("..data/policy.json", f"{cm}/policy.json")

    def mounts(self, spec, c):
        vols = {v["name"]: v for v in spec["volumes"]}
        out = []
        for m in c.get("volumeMounts", []):
            v = vols[m["name"]]
            if "hostPath" in v:
                hp = self.host(v["hostPath"]["path"])
                if v["hostPath"].get("type") == "DirectoryOrCreate" and not os.path.exists(hp):
                    missing, p = [], hp
                    while not os.path.exists(p):       # every level made, to remove them all
                        missing.insert(0, p)
                        p = os.path.dirname(p)
                    os.makedirs(hp)
                    created.extend(m for m in missing if not m.startswith(D))
            else:
                hp = D + "/configmap"
            prop = {"Bidirectional": 2, "HostToContainer": 1}.get(m.get("mountPropagation"), 0)
            out.append(cri.h.Mount(container_path=m["mountPath"], host_path=hp,
                                   readonly=bool(m.get("readOnly")), propagation=prop))
        return out

    def start_agent(self, image=None, name="tierwall-0"):
        """The DaemonSet's pod on this node, as the kubelet would run it."""
        spec = self.ds["spec"]["template"]["spec"]
        pod = self.cri.pod(name, self.ns, self.ds["spec"]["template"]["metadata"]["labels"],
                           cgroup_parent=PARENT, privileged=True, pid_host=spec.get("hostPID", False))
        for c in spec.get("initContainers", []):
            cmd = list(c["command"])
            i = cmd.index("--socket")        # a path on the host: where /run/tierwall is
            cmd[i + 1] = self.host("/run/tierwall") + "/tierwall.sock"
            cid = pod.container(c["name"], image or c["image"], cmd, mounts=self.mounts(spec, c),
                                privileged=bool(c.get("securityContext", {}).get("privileged")))
            st = self.cri.wait_exit(cid)
            check(st.exit_code == 0, f"init container {c['name']}: exit {st.exit_code}: {pod.log(c['name'])}")
        c = spec["containers"][0]
        args = list(c.get("args", [])) + [f"--cgroup-root=/sys/fs/cgroup/{os.path.relpath(CG2, '/sys/fs/cgroup')}/{CG}".replace("/./", "/")]
        self.agent_cid = pod.container(c["name"], image or c["image"], c["command"], args=args,
                                       mounts=self.mounts(spec, c),
                                       privileged=c["securityContext"].get("privileged", False),
                                       pid_host=spec.get("hostPID", False))
        self.agent = pod
        return pod

    def probe(self, *extra):
        """The manifest's probe command, run from the host against the same socket."""
        return sh(BUILD + "/tierwall", "--socket", self.host("/run/tierwall") + "/tierwall.sock",
                  "status", *extra, check=False)

    def events(self):
        try:
            return [json.loads(l) for l in open(self.host("/var/log/tierwall") + "/events.jsonl")]
        except OSError:
            return []

    def workload(self, name, namespace, tier, command, start=True):
        labels = {"tierwall.io/tier": tier} if tier else {}
        pod = self.cri.pod(name, namespace, labels, cgroup_parent=PARENT)
        cid = pod.container("app", "tierwall.test/work:1", command, start=start)
        return pod, cid

    def close(self):
        harness.stop_containerd(self.containerd, self.cri)


def cleanup(world):
    if world:
        world.close()
    harness.unmount_below(D)
    for path in (NRI_CONF, NRI_BIN + "/tierwall-nri"):
        if os.path.exists(path):
            os.unlink(path)
    for path in reversed(created):
        try:
            os.rmdir(path)
        except OSError:
            pass
    harness.remove_cgroups(CG)
    shutil.rmtree(D, ignore_errors=True)


W = None


@test("k8s_agent_from_manifest_ready")
def t_agent():
    W.configmap(json.dumps(POLICY), "2026_11_27_01")
    W.start_agent()
    check(os.path.exists(NRI_BIN + "/tierwall-nri"), "the init container installed the hook")
    conf = json.load(open(NRI_CONF))
    hook = [p for p in conf["plugins"] if p["type"] == "tierwall-nri"]
    check(len(hook) == 1 and hook[0]["conf"]["exempt_namespaces"] == ["tierwall", "kube-system"],
          f"conf.json names the hook with its exemptions: {conf}")
    r = W.probe("--wait=30")
    check(r.returncode == 0, f"status --wait: {r.stdout} {r.stderr}")
    check("attached" in r.stdout, "programs attached")


def early_pods():
    """Pods that run before the agent is installed (no NRI hook yet): a staging and a prod
    pod connecting to prod in a loop, and one whose tier label names no tier."""
    check(not os.path.exists(NRI_CONF), "no hook installed yet")
    for name, ns, tier in (("early-web", "shop", "staging"), ("early-pay", "payments", None)):
        STATE[name], _ = W.workload(name, ns, tier, LOOP)
    STATE["early-typo"], _ = W.workload("early-typo", "shop", "qa", ["/bin/sh", "-c", "sleep 600"])
    for name in ("early-web", "early-pay"):     # positive control: nothing judges them yet
        got = wait_lines(STATE[name], 2)
        check(got and all(l.endswith("allowed") for l in got), f"{name} before the agent: {got}")


@test("k8s_running_pods_tiered_from_cri_within_5s")
def t_adopted():
    check("early_error" not in STATE, f"pods before the agent: {STATE.get('early_error')}")
    web, pay = STATE["early-web"], STATE["early-pay"]
    sync = []
    for _ in range(150):                      # bounded: the agent's own record of the sync
        sync = [e for e in W.events() if e.get("event") == "cri_sync"]
        if sync:
            break
        time.sleep(0.1)
    check(sync and sync[-1]["state"] == "synced", f"the CRI sync record: {sync[-1:]}")
    defs = json.load(open(os.path.join(ROOT, "policies/event.schema.json")))["$defs"]
    extra = set(sync[-1]) - set(defs["common"]["properties"]) - set(defs["daemon"]["properties"])
    extra |= {k for u in sync[-1]["unplaced"] for k in u} - \
        set(defs["daemon"]["properties"]["unplaced"]["items"]["properties"])
    check(not extra and sync[-1]["event"] in defs["daemon"]["properties"]["event"]["enum"],
          f"cri_sync fields the schema does not document: {extra}")
    evs = W.events()
    start = [e for e in evs if e.get("event") == "start"][-1]
    tag = [e for e in evs if e.get("event") == "tag" and e.get("meta", {}).get("pod") == "early-web"
           and e["meta"].get("container") == "app"]
    check(tag and tag[0]["tier"] == "staging" and tag[0]["source"] == "pod" and
          tag[0]["meta"].get("namespace") == "shop" and tag[0]["meta"].get("via") == "cri",
          f"the running staging pod's container was tagged from the CRI: {tag[:1]}")
    took = ts(tag[0]) - ts(start)
    check(took <= 5, f"tagged {took:.2f}s after the agent started: more than 5 s")
    n, m = len(lines(web)), len(lines(pay))
    after, after_pay = wait_lines(web, n + 3)[n:], wait_lines(pay, m + 3)[m:]
    check(len(after) >= 3 and all("Operation not permitted" in l for l in after),
          f"the staging pod that ran before the agent is refused prod now: {after}")
    check(len(after_pay) >= 3 and all(l.endswith("allowed") for l in after_pay),
          f"the prod pod that ran before the agent still reaches prod: {after_pay}")
    ev = [e for e in W.events() if e.get("kind") == "connect" and e.get("pod") == "early-web"]
    check(ev and ev[0]["namespace"] == "shop" and ev[0]["container"] == "app" and
          ev[0]["tier"] == "staging" and ev[0]["target_tier"] == "prod", f"event names the pod: {ev[:1]}")
    print(f"    (tagged {took * 1000:.0f} ms after the agent's start record; the sync took "
          f"{sync[-1]['duration_ms']} ms for {sync[-1]['pods']} pods)")


@test("k8s_unplaced_pod_listed_in_status")
def t_unplaced():
    sock = W.host("/run/tierwall") + "/tierwall.sock"
    st = json.loads(sh(BUILD + "/tierwall", "--socket", sock, "--json", "status").stdout)
    un = [u for u in st["cri"]["unplaced"] if u.get("pod") == "early-typo" and u["container"] == "app"]
    check(un and un[0]["namespace"] == "shop" and
          "names a tier the policy does not define" in un[0]["reason"],
          f"status --json lists the pod with an unknown tier: {st['cri']}")
    check(not [u for u in st["cri"]["unplaced"] if u.get("pod") in ("early-web", "early-pay")],
          f"the others are placed: {st['cri']['unplaced']}")
    text = sh(BUILD + "/tierwall", "--socket", sock, "status").stdout
    check("early-typo" in text and "not placed" in text, f"status lists it: {text}")
    print("".join(f"    | {l}\n" for l in text.splitlines() if l.startswith(("cri ", "not placed"))), end="")


@test("k8s_staging_pod_first_command_refused_prod")
def t_staging():
    pod, cid = W.workload("web", "shop", "staging", PROBE)
    st = W.cri.wait_exit(cid)
    check(st.exit_code == 1, f"first command's connect: exit {st.exit_code} ({pod.log('app').strip()})")
    check("Operation not permitted" in pod.log("app"), "EPERM")
    ev = [e for e in W.events() if e.get("kind") == "connect" and e.get("pod") == "web"]
    check(ev and ev[0]["namespace"] == "shop" and ev[0]["container"] == "app" and
          ev[0]["tier"] == "staging" and ev[0]["target_tier"] == "prod", f"event names the pod: {ev[:1]}")


@test("k8s_prod_pod_reaches_prod")
def t_prod():
    pod, cid = W.workload("pay", "payments", None, PROBE)     # prod by its namespace
    st = W.cri.wait_exit(cid)
    check(st.exit_code == 0, f"prod pod: exit {st.exit_code} ({pod.log('app').strip()})")


@test("k8s_unknown_tier_does_not_start")
def t_unknown():
    try:
        W.workload("typo", "shop", "qa", PROBE)
    except grpc.RpcError as e:
        check("names a tier the policy does not define" in e.details(), e.details())
        return
    raise AssertionError("a pod with tier qa started")


@test("k8s_configmap_change_applied")
def t_configmap():
    p2 = dict(POLICY, destinations=[{"tier": "staging", "cidrs": ["127.20.0.0/16"]}])
    W.configmap(json.dumps(p2), "2026_11_27_02")
    ok = False
    for i in range(30):                       # bounded: the daemon reloads on its own
        time.sleep(0.2)
        pod, cid = W.workload(f"after-{i}", "shop", "staging", PROBE)
        ok = W.cri.wait_exit(cid).exit_code == 0
        if ok:
            break
    check(ok, "a staging pod reaches 127.20.0.1 once the ConfigMap gives it to staging")
    W.configmap(json.dumps(POLICY), "2026_11_27_03")
    for i in range(30):
        time.sleep(0.2)
        pod, cid = W.workload(f"back-{i}", "shop", "staging", PROBE)
        if W.cri.wait_exit(cid).exit_code == 1:
            return
    raise AssertionError("the first policy did not come back")


STATE = {}


@test("k8s_agent_stopped_running_pods_enforced_new_pods_refused")
def t_stopped():
    pod, _ = W.workload("loop", "shop", "staging", LOOP)
    before = wait_lines(pod, 2)
    check(before and all("Operation not permitted" in l for l in before), f"loop refused: {before}")
    W.cri.call("StopContainer", container_id=W.agent_cid, timeout=30)   # SIGTERM, as a rolling update
    n = len(lines(pod))
    after = wait_lines(pod, n + 3)[n:]
    check(len(after) >= 3 and all("Operation not permitted" in l for l in after),
          f"still refused with the agent stopped: {after}")
    t0 = time.time()
    try:
        W.workload("late", "shop", "staging", PROBE)
        raise AssertionError("a non-exempt pod started without the agent")
    except grpc.RpcError as e:
        check("did not confirm the tier" in e.details() and "within 5000 ms" in e.details(), e.details())
    waited = time.time() - t0
    sys_pod, cid = W.workload("dns", "kube-system", None, PROBE)
    st = W.cri.wait_exit(cid)
    # Exempt: it starts without the agent, but pending (below the pods' root, placed by no one):
    # refused what a tier owns until an agent places it.
    check(st.exit_code == 1, f"kube-system pod starts, pending: its connect to prod refused: exit {st.exit_code}")
    STATE["loop"] = pod
    print(f"    (the hook waited {waited:.1f}s before refusing)")


@test("k8s_upgrade_keeps_every_verdict")
def t_upgrade():
    pod = STATE.get("loop")
    check(pod is not None, "needs the previous test's pod")
    sh("ctr", "--address", W.sock, "-n", "k8s.io", "images", "tag", "docker.io/tierwall/tierwall:0.1.0",
       "docker.io/tierwall/tierwall:0.1.1")
    W.agent.remove()
    n = len(lines(pod))
    W.start_agent(image="docker.io/tierwall/tierwall:0.1.1", name="tierwall-1")
    r = W.probe("--wait=30")
    check(r.returncode == 0, f"new agent ready: {r.stdout}")
    after = wait_lines(pod, n + 3)[n:]
    allv = lines(pod)
    check(all("Operation not permitted" in l for l in allv), f"every verdict kept: {[l for l in allv if 'not permitted' not in l]}")
    check(len(after) >= 3, "the loop ran through the upgrade")
    tiers = sh(BUILD + "/tierwall", "--socket", W.host("/run/tierwall") + "/tierwall.sock", "--json", "tiers").stdout
    check('"loop"' in tiers, "the pod's tag was restored by the new agent")
    p, cid = W.workload("after-upgrade", "shop", "staging", PROBE)
    check(W.cri.wait_exit(cid).exit_code == 1, "new pods tiered by the new agent")


@test("k8s_uninstall_one_step_removes_hooks_and_pins")
def t_uninstall():
    """The uninstall overlay's pod on this node, as its rolling update runs it."""
    pod = STATE.get("loop")
    check(pod is not None, "needs the loop pod")
    ds = next(d for d in kustomize.render(KUSTOMIZE, "deploy/kubernetes/overlays/uninstall")
              if d["kind"] == "DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    others = [W.host("/opt/nri/plugins") + "/10-tierwall", W.host("/etc/nri") + "/conf.d/10-tierwall.conf",
              W.host("/etc/containers/oci/hooks.d") + "/50-tierwall.json",
              W.host("/usr/libexec/tierwall") + "/tierwall-oci-hook"]
    for f in others:                              # what the other runtimes' overlays leave on a node
        if not os.path.isdir(os.path.dirname(f)):
            os.makedirs(os.path.dirname(f))
            if not f.startswith(D):
                created.append(os.path.dirname(f))   # /etc/nri/conf.d: removed at the end
        open(f, "w").write("{}")
    W.agent.remove()                              # SIGTERM: the pins stay, still enforcing
    n = len(lines(pod))
    after = wait_lines(pod, n + 2)[n:]
    check(after and all("Operation not permitted" in l for l in after), f"enforced until uninstalled: {after}")
    un = W.cri.pod("tierwall-uninstall", W.ns, ds["spec"]["template"]["metadata"]["labels"],
                   cgroup_parent=PARENT, privileged=True, pid_host=spec.get("hostPID", False))
    for c in spec["initContainers"]:
        cid = un.container(c["name"], c["image"], c["command"], mounts=W.mounts(spec, c),
                           privileged=bool(c.get("securityContext", {}).get("privileged")),
                           pid_host=spec.get("hostPID", False))
        st = W.cri.wait_exit(cid, timeout=60)
        check(st.exit_code == 0, f"{c['name']}: exit {st.exit_code}: {un.log(c['name'])}")
    c = spec["containers"][0]
    un.container(c["name"], c["image"], c["command"], mounts=W.mounts(spec, c))
    check(not os.path.exists(NRI_BIN + "/tierwall-nri"), "the NRI v0.1 hook is gone")
    check(not any(p.get("type") == "tierwall-nri" for p in json.load(open(NRI_CONF)).get("plugins", [])),
          "and its conf.json entry")
    for f in others:
        check(not os.path.exists(f), f"{f} removed")
    pins = [e for e in os.listdir(D + "/bpf") if not e.endswith(".debug")]   # bpffs's own
    check(not pins, f"every pin removed: {pins}")
    check(any(e.get("event") == "uninstall" for e in W.events()), "an uninstall record closes the log")
    n = len(lines(pod))
    after = wait_lines(pod, n + 2)[n:]
    check(after and not any("Operation not permitted" in l for l in after),
          f"running pods are no longer judged: {after}")
    p, cid = W.workload("after-uninstall", "shop", "staging", PROBE)
    check(W.cri.wait_exit(cid).exit_code == 0, "new pods start without the hook, untiered")
    un.remove()


def drain(lsock, stop):
    while not stop.is_set():
        if select.select([lsock], [], [], 0.2)[0]:
            try:
                lsock.accept()[0].close()
            except OSError:
                pass


def main():
    global W
    for t in ("k8s/pause.tar", "k8s/work.tar", "k8s/py/cri_harness_pb2.py", "tierwall-image.tar",
              "tierwall-nri", "tierwall"):
        if not os.path.exists(os.path.join(BUILD, t)):
            skip_all(f"{BUILD}/{t} is missing (make k8s-test-deps)")
    lsock = harness.Listener("127.20.0.1", PORT)
    try:
        W = World()
    except Exception as e:  # noqa: BLE001
        cleanup(None)
        lsock.close()
        print(f"FAIL k8s: containerd cannot run here: {e}")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    try:
        try:
            early_pods()
        except Exception as e:  # noqa: BLE001
            STATE["early_error"] = str(e)
        harness.run_all((t_agent, t_adopted, t_unplaced, t_staging, t_prod, t_unknown, t_configmap,
                         t_stopped, t_upgrade, t_uninstall), "the agent did not start")
    finally:
        cleanup(W)
        lsock.close()
    return harness.summary()


if __name__ == "__main__":
    sys.exit(main())
