# SPDX-License-Identifier: GPL-2.0
"""What the real-runtime tests share (tests/k8s, tests/oci): one line per test, the summary
line tests/run.sh counts, and removing a private cgroup subtree from every hierarchy."""
import os, sys, time, traceback

results = []          # "ok", "fail" or "skip", one per test


def skip_all(what, reason):
    print(f"SKIP {what}: {reason}")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)


def test(name):
    def wrap(fn):
        def run():
            t0 = time.time()
            try:
                fn()
                results.append("ok")
                print(f"ok   {name} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001
                results.append("fail")
                print(f"FAIL {name}: {e}", flush=True)
                traceback.print_exc(limit=3, file=sys.stdout)
        run.name = name
        return run
    return wrap


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def remove_cgroups(cg):
    """The subtree cg (relative to each mount) in every cgroup and cgroup2 hierarchy, deepest first."""
    for l in open("/proc/mounts"):
        f = l.split()
        if f[2] in ("cgroup", "cgroup2") and os.path.isdir(f"{f[1]}/{cg}"):
            for dirpath, _, _ in sorted(os.walk(f"{f[1]}/{cg}"), key=lambda x: -len(x[0])):
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    print(f"    cleanup: {dirpath}: {e}")


def summary():
    print(f"{results.count('ok')} passed, {results.count('fail')} failed, {results.count('skip')} skipped")
    return 1 if "fail" in results else 0
