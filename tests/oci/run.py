#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The OCI hook tests: Debian's real podman 4.3, rootful, runc (crun refuses
this host's hybrid cgroups), cgroupfs, host network, private --root,
--runroot and --hooks-dir, an image from `podman import` of busybox-static
and tw_probe. tierwall-oci-hook is installed by its own `install` into a
private hooks directory (createRuntime stage); tierwalld runs on a private
cgroup root whose libpod_parent is the pods' root it finds. Containers are
parented below it. Traffic goes to loopback only.

CRI-O is not packaged (Debian 13 has no cri-o, crio or cri-tools: apt-cache
search of trixie main, contrib, non-free and sid, 2026-12-07): its two annotation sets (a sandbox with the pod's
labels, an app container naming its sandbox) are given to podman
containers, which is what CRI-O's hook call carries.

Prints one line per test and "N passed, N failed, N skipped"."""
import json, os, shutil, socket, subprocess, sys, threading, time, traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TW_BUILD_DIR", os.path.join(ROOT, "build"))
PORT = 30000 + (os.getpid() + 7) % 20000
PROD, STAGING = "127.25.0.1", "127.26.0.1"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import rtharness  # noqa: E402
from rtharness import check, remove_cgroups, results, test  # noqa: E402


def skip_all(reason):
    rtharness.skip_all("oci", reason)


if os.geteuid() != 0:
    skip_all("needs root (rootless podman is not covered: tag requests need root)")
for b in ("podman", "runc"):
    if not shutil.which(b):
        skip_all(f"{b} is not installed (make test-deps installs podman and runc)")
BUSYBOX = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)), None)
if not BUSYBOX:
    skip_all("busybox-static is not installed")
CG2 = next((l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "cgroup2"), None)
if not CG2:
    skip_all("no cgroup2 mount")

D = f"/tmp/tw-oci-{os.getpid()}"
CG = f"tw-oci-{os.getpid()}"
PIN = f"/sys/fs/bpf/tw-oci-{os.getpid()}"
SOCK = f"{D}/tierwall.sock"
POLICY = {
    "version": 1,
    "tiers": {"staging": {}, "prod": {}},
    "destinations": [{"tier": "prod", "cidrs": ["127.25.0.0/16"]},
                     {"tier": "staging", "cidrs": ["127.26.0.0/16"]}],
    "kubernetes": {"namespaces": {"payments": "prod"}},
}
PODMAN = ["podman", "--root", f"{D}/root", "--runroot", f"{D}/run", "--hooks-dir", f"{D}/hooks",
          "--cgroup-manager", "cgroupfs", "--runtime", "runc", "--events-backend", "file"]
RUN = ["--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"]
IMAGE = "localhost/tw-oci-work:1"
daemon = None


def sh(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def podman(*args, timeout=120):
    return sh(PODMAN + list(args), timeout=timeout)


def parent(name):
    return f"/{CG}/libpod_parent/{name}"


def start_daemon():
    global daemon
    out = open(f"{D}/daemon.out", "a")
    daemon = subprocess.Popen([f"{BUILD}/tierwalld", "--policy", f"{D}/policy.json", "--cgroup-root",
                               f"{CG2}/{CG}", "--log-dir", f"{D}/log", "--pin-dir", PIN, "--socket", SOCK,
                               "--state-dir", f"{D}/state", "--cri-socket", "none"],
                              stdout=out, stderr=out)
    r = sh([f"{BUILD}/tierwall", "--socket", SOCK, "status", "--wait=60"], timeout=90)
    check(r.returncode == 0, f"tierwalld ready: {r.stdout} {r.stderr} {open(f'{D}/daemon.out').read()[-2000:]}")


def stop_daemon():
    global daemon
    if daemon:
        daemon.terminate()
        daemon.wait(timeout=60)
        daemon = None


def events():
    out = []
    for name in sorted(os.listdir(f"{D}/log")) if os.path.isdir(f"{D}/log") else []:
        if name.endswith(".jsonl"):
            for l in open(f"{D}/log/{name}"):
                try:
                    out.append(json.loads(l))
                except ValueError:
                    pass
    return out


def drain():
    sh([f"{BUILD}/tierwall", "--socket", SOCK, "drain"], timeout=30)


def probe(*extra, addr=PROD, name=None, cgparent=None, ann=()):
    """Run tw_probe tcp-connect in a new container; (returncode, output)."""
    args = ["run", "--rm"] + RUN + ["--cgroup-parent", cgparent or parent("plain")]
    for a in ann:
        args += ["--annotation", a]
    if name:
        args += ["--name", name]
    r = podman(*args, *extra, IMAGE, "/usr/bin/tw_probe", "tcp-connect", addr, str(PORT))
    return r.returncode, r.stdout + r.stderr


def csv(a):
    """podman reads --annotation as a CSV field: quote one that holds quotes."""
    return '"' + a.replace('"', '""') + '"' if '"' in a or "," in a else a


def crio_sandbox(pod, ns, uid, labels, cgparent):
    """A container with CRI-O's sandbox annotations, kept running; its id."""
    lab = {"io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid}
    lab.update(labels)
    r = podman("create", *RUN, "--cgroup-parent", cgparent,
               "--annotation", "io.kubernetes.cri-o.ContainerType=sandbox",
               "--annotation", csv(f"io.kubernetes.cri-o.Labels={json.dumps(lab)}"),
               IMAGE, "/bin/sh", "-c", "sleep 600")
    check(r.returncode == 0, f"create sandbox: {r.stderr}")
    cid = r.stdout.strip()
    return cid, podman("start", cid)


def crio_app(sandbox, pod, ns, uid, container, cgparent):
    lab = {"io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid,
           "io.kubernetes.container.name": container}
    return ("io.kubernetes.cri-o.ContainerType=container", f"io.kubernetes.cri-o.SandboxID={sandbox}",
            csv(f"io.kubernetes.cri-o.Labels={json.dumps(lab)}")), cgparent


def setup():
    for d in ("log", "state", "hooks", "bin", "img/usr/bin", "img/bin"):
        os.makedirs(f"{D}/{d}", exist_ok=True)
    os.makedirs(f"{CG2}/{CG}/libpod_parent", exist_ok=True)
    json.dump(POLICY, open(f"{D}/policy.json", "w"))
    shutil.copy(BUSYBOX, f"{D}/img/bin/busybox")
    for a in ("sh", "sleep"):
        os.symlink("busybox", f"{D}/img/bin/{a}")
    shutil.copy(f"{BUILD}/static/tw_probe", f"{D}/img/usr/bin/tw_probe")
    sh(["tar", "-C", f"{D}/img", "-cf", f"{D}/img.tar", "."])
    r = podman("import", f"{D}/img.tar", IMAGE)
    check(r.returncode == 0, f"podman import: {r.stderr}")
    r = sh([f"{BUILD}/tierwall-oci-hook", "install", "--bin-dir", f"{D}/bin", "--hooks-dir", f"{D}/hooks",
            "--socket", SOCK, "--timeout-ms", "1500"])
    check(r.returncode == 0, f"tierwall-oci-hook install: {r.stdout} {r.stderr}")


def cleanup():
    stop_daemon()
    podman("rm", "-af", "-t", "0")
    podman("rmi", "-af")
    shutil.rmtree(PIN, ignore_errors=True)
    sh(["umount", "-R", f"{D}/root/overlay"])
    remove_cgroups(CG)
    shutil.rmtree(D, ignore_errors=True)


def listener(addr):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, PORT))
    s.listen(64)
    return s


@test("oci_hooks_d_entry_written_by_install")
def t_install():
    h = json.load(open(f"{D}/hooks/50-tierwall.json"))
    check(h["stages"] == ["createRuntime"] and h["when"] == {"always": True} and
          h["hook"]["path"] == f"{D}/bin/tierwall-oci-hook" and h["hook"]["args"][:2] ==
          ["tierwall-oci-hook", "invoke"] and f"--socket={SOCK}" in h["hook"]["args"],
          f"the hooks.d entry: {h}")
    ref = json.load(open(os.path.join(ROOT, "deploy/oci/50-tierwall.json")))
    check(ref["stages"] == h["stages"] and ref["version"] == h["version"], "deploy/oci agrees")


@test("oci_podman_annotation_tier_refused_first_connect")
def t_annotation():
    rc, out = probe(ann=("tierwall.io/tier=staging",), name="tw-staging")
    check("Operation not permitted" in out, f"a staging container's connect to prod: {rc} {out}")
    rc, out = probe(addr=STAGING, ann=("tierwall.io/tier=staging",))
    check(rc == 0 and out.strip().endswith("allowed"), f"its own tier from the first instruction: {out}")
    rc, out = probe(ann=("tierwall.io/tier=prod",))
    check(rc == 0 and out.strip().endswith("allowed"), f"a prod container reaches prod: {out}")
    rc, out = probe()
    check(rc == 0 and out.strip().endswith("allowed"), f"an untiered container reaches prod: {out}")
    drain()
    ev = [e for e in events() if e.get("kind") == "connect" and e.get("verdict") == "deny"]
    check(ev and ev[0]["tier"] == "staging" and ev[0]["target_tier"] == "prod" and
          "/libpod_parent/plain/libpod-" in ev[0]["tagged_cgroup"],
          f"the refusal on the record, the container's own tag: {ev[:1]}")


@test("oci_crio_sandbox_and_app_annotations")
def t_crio():
    pp = parent("podu1")
    sid, r = crio_sandbox("web", "shop", "u1", {"tierwall.io/tier": "staging"}, pp)
    check(r.returncode == 0, f"the sandbox starts: {r.stderr}")
    ann, _ = crio_app(sid, "web", "shop", "u1", "app", pp)
    rc, out = probe(ann=ann, cgparent=pp)
    check("Operation not permitted" in out, f"the app container's first connect to prod: {out}")
    rc, out = probe(addr=STAGING, ann=ann, cgparent=pp)
    check(rc == 0 and out.strip().endswith("allowed"), f"and to staging: {out}")
    drain()
    ev = [e for e in events() if e.get("kind") == "connect" and e.get("pod") == "web"]
    check(ev and ev[0]["namespace"] == "shop" and ev[0]["container"] == "app" and
          ev[0]["tier"] == "staging" and ev[0]["target_tier"] == "prod", f"the event names the pod: {ev[:1]}")
    tag = [e for e in events() if e.get("event") == "tag" and e.get("meta", {}).get("container") == "POD"]
    check(tag and tag[0]["cgroup"].endswith("/libpod_parent/podu1"), f"the sandbox tags the pod's cgroup: {tag[:1]}")
    # An app container whose sandbox was never placed (drop_infra_ctr): refused.
    ann, _ = crio_app("0" * 64, "web", "shop", "u1", "app", pp)
    rc, out = probe(ann=ann, cgparent=pp)
    check(rc != 0 and "was never placed" in out, f"no placed sandbox: refused: {rc} {out}")
    podman("rm", "-f", "-t", "0", sid)


@test("oci_unknown_tier_does_not_start")
def t_unknown():
    rc, out = probe(ann=("tierwall.io/tier=qa",))
    check(rc != 0 and "names a tier the policy does not define" in out, f"{rc} {out}")
    check("allowed" not in out and "Operation" not in out, f"its first instruction never ran: {out}")


@test("oci_daemon_down_refused_pending_holds")
def t_down():
    r = podman("run", "-d", *RUN, "--cgroup-parent", parent("keep"), IMAGE, "/bin/sh", "-c", "sleep 600")
    check(r.returncode == 0, f"an untiered container placed while the daemon runs: {r.stderr}")
    keep = r.stdout.strip()
    stop_daemon()
    try:
        rc, out = probe(ann=("tierwall.io/tier=staging",))
        check(rc != 0 and "did not confirm" in out and "fail closed" in out, f"no daemon: refused: {rc} {out}")
        rc, out = probe()
        check(rc != 0 and "did not confirm" in out, f"no daemon: an untiered podman container too: {rc} {out}")
        # Exempt: starts, but pending (refused what a tier owns) until a daemon places it.
        sid, r = crio_sandbox("dns", "kube-system", "u2", {}, parent("podu2"))
        check(r.returncode == 0, f"no daemon: an exempt namespace's sandbox starts: {r.stderr}")
        r = podman("exec", sid, "/usr/bin/tw_probe", "tcp-connect", PROD, str(PORT))
        check("Operation not permitted" in r.stdout + r.stderr, f"and is pending: {r.stdout} {r.stderr}")
        r = podman("exec", keep, "/usr/bin/tw_probe", "tcp-connect", PROD, str(PORT))
        check(r.stdout.strip().endswith("allowed"), f"a placed container keeps its place: {r.stdout} {r.stderr}")
        podman("rm", "-f", "-t", "0", sid)
    finally:
        start_daemon()
    podman("rm", "-f", "-t", "0", keep)


def fake_state(i, pid):
    return json.dumps({"ociVersion": "1.0.2", "id": f"bench{i:04d}", "status": "creating", "pid": pid,
                       "bundle": "/", "annotations": {}})


@test("oci_50_untiered_at_once_all_placed")
def t_many():
    """50 untiered containers' hooks at once, each with a waiting process in a pending cgroup:
    every hook exits 0 and every cgroup is tagged untiered (how soon: `make bench`, tw_bench_pods)."""
    n, procs, cgs, rcs = 50, [], [], [None] * 50
    for i in range(n):
        cg = f"{CG2}/{CG}/libpod_parent/many-{i}"
        os.makedirs(cg, exist_ok=True)
        cgs.append(cg)
        p = subprocess.Popen(["/bin/sh", "-c", f"echo $$ > {cg}/cgroup.procs; exec sleep 600"])
        procs.append(p)
    try:
        for i, p in enumerate(procs):        # bounded: each waiting process in its cgroup
            for _ in range(200):
                if str(p.pid) in open(f"{cgs[i]}/cgroup.procs").read():
                    break
                time.sleep(0.01)
        args = json.load(open(f"{D}/hooks/50-tierwall.json"))["hook"]["args"][1:]
        barrier = threading.Barrier(n)

        def one(i):
            barrier.wait()
            rcs[i] = subprocess.run([f"{D}/bin/tierwall-oci-hook"] + args, input=fake_state(i, procs[i].pid),
                                    capture_output=True, text=True, timeout=30)
        ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        bad = [r.stderr for r in rcs if r is None or r.returncode]
        check(not bad, f"every hook placed its container: {len(bad)} did not: {bad[:2]}")
        r = sh([f"{BUILD}/tierwall", "--socket", SOCK, "--json", "tiers"])
        tags = {t["cgroup"].rsplit("/", 1)[-1]: t["tier"] for t in json.loads(r.stdout)["tags"]}
        check(all(tags.get(f"many-{i}") == "untiered" for i in range(n)),
              f"each cgroup released from pending: {[tags.get(f'many-{i}') for i in range(n)]}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for cg in cgs:
            for _ in range(100):
                try:
                    os.rmdir(cg)
                    break
                except OSError:
                    time.sleep(0.02)


TESTS = [t_install, t_annotation, t_crio, t_unknown, t_down, t_many]


def main():
    want = sys.argv[1:]
    lp = ls = None
    try:
        setup()
        lp, ls = listener(PROD), listener(STAGING)
        start_daemon()
        for t in TESTS:
            if not want or any(w in t.name for w in want):
                t()
    except Exception as e:  # noqa: BLE001
        results.append("fail")
        print(f"FAIL oci_setup: {e}", flush=True)
        traceback.print_exc()
    finally:
        for s in (lp, ls):
            if s:
                s.close()
        cleanup()
    return rtharness.summary()


if __name__ == "__main__":
    sys.exit(main())
