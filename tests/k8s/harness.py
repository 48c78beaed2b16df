# SPDX-License-Identifier: GPL-2.0
"""What the containerd tests share (run.py: containerd 1.6 and NRI v0.1; nri2.py:
containerd 1.7 and NRI v2), beside tests/rtharness.py's test lines, summary and cgroup
cleanup (re-exported here): the policy and probes, a loopback listener that accepts and
closes, containerd's stop, the cleanup of what a test mounted."""
import datetime, os, select, shutil, signal, socket, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rtharness import check, remove_cgroups, results, skip_all, summary, test  # noqa: E402,F401
PORT = 30000 + os.getpid() % 20000            # the listener's, on 127.20.0.1
# The tests' policy: prod owns 127.20.0.0/16, where the listener is; the namespace
# payments is prod; a pod's label says its tier otherwise.
POLICY = {
    "version": 1,
    "tiers": {"staging": {}, "prod": {}},
    "destinations": [{"tier": "prod", "cidrs": ["127.20.0.0/16"]},
                     {"tier": "staging", "cidrs": ["127.30.0.0/16"]}],
    "kubernetes": {"namespaces": {"payments": "prod"}},
}
PROBE = ["/usr/bin/tw_probe", "tcp-connect", "127.20.0.1", str(PORT)]
# A pod that connects to prod every 0.2 s, a line each ("... -> allowed" or the error).
LOOP = ["/bin/sh", "-c", f"while :; do /usr/bin/tw_probe tcp-connect 127.20.0.1 {PORT}; sleep 0.2; done"]


def lines(pod, name="app"):
    return [l for l in pod.log(name).splitlines() if "->" in l]


def ts(e):
    """A record's time in seconds."""
    return datetime.datetime.strptime(e["ts"][:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def wait_lines(pod, n, timeout=15):
    """The pod's probe lines once there are n (bounded)."""
    end = time.time() + timeout
    while time.time() < end and len(lines(pod)) < n:
        time.sleep(0.1)
    return lines(pod)


def preflight(suite, tools, modules):
    """What every runtime test needs: root, these programs and python modules, cgroup2."""
    if os.geteuid() != 0:
        skip_all(suite, "needs root")
    for b in tools:
        if not shutil.which(b):
            skip_all(suite, f"{b} is not installed (make test-deps installs it)")
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            skip_all(suite, f"python3 module missing: {m} (python3-grpcio, python3-yaml)")
    if not any(l.split()[2] == "cgroup2" for l in open("/proc/mounts")):
        skip_all(suite, "no cgroup2 mount")


def sh(*cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def run_all(tests, why_skipped):
    """Each test, the rest skipped once the first (the setup they need) failed."""
    for t in tests:
        if results and results[0] == "fail":
            print(f"SKIP {t.name}: {why_skipped}")
            results.append("skip")
            continue
        t()


def stop_containerd(proc, client):
    """Every pod the test made removed through the CRI, then containerd stopped (SIGTERM,
    killed after 20 s)."""
    try:
        client.cleanup()
    except Exception as e:  # noqa: BLE001
        print(f"    cleanup: {e}")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Listener:
    """A TCP listener on a loopback address that accepts and closes: pods that connect in a
    loop never fill its backlog."""

    def __init__(self, addr, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.stop = threading.Event()
        threading.Thread(target=self.drain, daemon=True).start()

    def drain(self):
        while not self.stop.is_set():
            if select.select([self.sock], [], [], 0.2)[0]:
                try:
                    self.sock.accept()[0].close()
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.sock.close()


def unmount_below(d):
    """containerd's mounts (sandbox shm, snapshots) and ours under d, deepest first."""
    for mnt in sorted((l.split()[1] for l in open("/proc/mounts") if l.split()[1].startswith(d)),
                      key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
