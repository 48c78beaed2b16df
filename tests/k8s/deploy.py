#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What a platform team deploys, checked as rendered: every kustomize overlay
of deploy/kubernetes built by Debian 13's kustomize (tests/trixie.sh), the
base's promises kept in each, the components (caps, servicemonitor) composed
over a runtime overlay, the uninstall's order and coverage; and the image
(`make image`): docker's manifest.json beside the OCI layout, the OCI labels,
stripped binaries, no empty or world-writable files, two builds byte-identical,
and podman reading it both ways (docker-archive: what `docker load` reads).

Prints one line per test and "N passed, N failed, N skipped"."""
import io, json, os, shlex, shutil, subprocess, sys, tarfile, tempfile, traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize  # noqa: E402

ROOT, BUILD = kustomize.ROOT, kustomize.BUILD
IMAGE = os.path.join(BUILD, "tierwall-image.tar")
RUNTIMES = ("containerd-1.6", "containerd-1.7", "cri-o")
results = []


def test(fn):
    def run(*a):
        try:
            fn(*a)
            print(f"ok   {fn.__name__}")
            results.append("ok")
        except Skip as e:
            print(f"SKIP {fn.__name__}: {e}")
            results.append("skip")
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {fn.__name__}: {e}")
            traceback.print_exc(limit=2, file=sys.stdout)
            results.append("fail")
    run.__name__ = fn.__name__
    return run


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    check(len(found) == 1, f"one {kind} {name or ''}: found {len(found)}")
    return found[0]


def container(spec, name, init=False):
    cs = spec.get("initContainers" if init else "containers", [])
    found = [c for c in cs if c["name"] == name]
    check(found, f"container {name} in {[c['name'] for c in cs]}")
    return found[0]


def host_paths(spec, c):
    vols = {v["name"]: v for v in spec["volumes"]}
    return {m["mountPath"]: vols[m["name"]].get("hostPath", {}).get("path") for m in c.get("volumeMounts", [])}


# ---- manifests ----

K = None
RENDERED = {}


def rendered(overlay):
    if K is None:
        raise Skip(KWHY)
    if overlay not in RENDERED:
        RENDERED[overlay] = kustomize.render(K, overlay)
    return RENDERED[overlay]


@test
def k8s_every_overlay_renders():
    for o in RUNTIMES + ("uninstall",):
        docs = rendered(f"deploy/kubernetes/overlays/{o}")
        for d in docs:
            check(d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), f"{o}: incomplete {d}")
            if d["kind"] != "Namespace":
                check(d["metadata"].get("namespace") == "tierwall", f"{o}: {d['kind']} outside tierwall")


@test
def k8s_base_promises_in_every_runtime_overlay():
    for o in RUNTIMES:
        docs = rendered(f"deploy/kubernetes/overlays/{o}")
        ds = one(docs, "DaemonSet", "tierwall")
        spec = ds["spec"]["template"]["spec"]
        check(spec["tolerations"] == [{"operator": "Exists"}], f"{o}: tolerations")
        check(spec["priorityClassName"] == "system-node-critical", f"{o}: priority")
        check(ds["spec"]["updateStrategy"]["type"] == "RollingUpdate", f"{o}: RollingUpdate")
        check(spec["nodeSelector"] == {"kubernetes.io/os": "linux"}, f"{o}: nodeSelector")
        sa = one(docs, "ServiceAccount", spec["serviceAccountName"])
        check(sa["automountServiceAccountToken"] is False and spec["automountServiceAccountToken"] is False,
              f"{o}: no token mounted")
        c = container(spec, "tierwalld")
        check("readinessProbe" in c and "livenessProbe" in c, f"{o}: probes")
        check(c["securityContext"].get("privileged") is True, f"{o}: privileged by default")
        for k in ("requests", "limits"):
            check({"cpu", "memory"} <= set(c["resources"][k]), f"{o}: {k} for cpu and memory")
        port = next(p for p in c["ports"] if p["name"] == "metrics")
        check(any(a.endswith(f":{port['containerPort']}") and a.startswith("--metrics=") for a in c["args"]),
              f"{o}: --metrics on the declared port")
        svc = one(docs, "Service", "tierwall-metrics")
        check(svc["spec"]["selector"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
              f"{o}: the Service selects the agent's pods")
        check(svc["spec"]["ports"][0]["targetPort"] == "metrics", f"{o}: the Service's port is metrics")
        cri = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--cri-socket=")]
        check(len(cri) == 1 and os.path.dirname(cri[0]) in host_paths(spec, c).values(),
              f"{o}: --cri-socket's directory is mounted from the host")


@test
def k8s_each_runtime_overlay_installs_its_hook():
    spec = one(rendered("deploy/kubernetes/overlays/containerd-1.6"), "DaemonSet")["spec"]["template"]["spec"]
    c = container(spec, "install-nri-hook", init=True)
    check(c["command"][:2] == ["/usr/bin/tierwall-nri", "install"], "1.6: tierwall-nri install")
    check("/etc/nri" in host_paths(spec, c).values() and "/opt/nri/bin" in host_paths(spec, c).values(),
          "1.6: conf.json and the hook's directory on the host")
    spec = one(rendered("deploy/kubernetes/overlays/containerd-1.7"), "DaemonSet")["spec"]["template"]["spec"]
    c = container(spec, "nri-plugin")
    check(c["command"][0] == "/usr/bin/tierwall-nri-plugin", "1.7: the NRI v2 plugin, external")
    check("/var/run/nri/nri.sock" in c["command"] and host_paths(spec, c).get("/var/run/nri") == "/var/run/nri",
          "1.7: connects to the runtime's NRI socket")
    check("initContainers" not in spec, "1.7: nothing installed on the host")
    spec = one(rendered("deploy/kubernetes/overlays/cri-o"), "DaemonSet")["spec"]["template"]["spec"]
    c = container(spec, "install-oci-hook", init=True)
    paths = host_paths(spec, c)
    check(paths.get("/etc/containers/oci/hooks.d") == "/etc/containers/oci/hooks.d"
          and paths.get("/usr/libexec/tierwall") == "/usr/libexec/tierwall",
          "cri-o: hooks.d and the hook's directory at their host paths (the entry names the binary)")


@test
def k8s_caps_and_servicemonitor_compose_over_a_runtime_overlay():
    d = os.path.join(BUILD, "k8s-compose")
    os.makedirs(d, exist_ok=True)
    rel = os.path.relpath(os.path.join(ROOT, "deploy/kubernetes/overlays"), d)
    open(os.path.join(d, "kustomization.yaml"), "w").write(
        f"resources: [{rel}/containerd-1.7]\ncomponents: [{rel}/caps, {rel}/servicemonitor]\n")
    docs = rendered(os.path.relpath(d, ROOT))
    ds = one(docs, "DaemonSet")
    sc = container(ds["spec"]["template"]["spec"], "tierwalld")["securityContext"]
    check(sc["privileged"] is False, "caps: not privileged")
    check(set(sc["capabilities"]["add"]) == {"BPF", "PERFMON", "NET_ADMIN", "SYS_ADMIN", "DAC_READ_SEARCH"}
          and sc["capabilities"]["drop"] == ["ALL"], f"caps: the list {sc}")
    sm = one(docs, "ServiceMonitor", "tierwall")
    svc = one(docs, "Service", "tierwall-metrics")
    check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
          "the ServiceMonitor selects the Service")
    check(sm["spec"]["endpoints"][0]["port"] == svc["spec"]["ports"][0]["name"], "by its port's name")


@test
def k8s_uninstall_removes_every_hook_then_the_pins():
    spec = one(rendered("deploy/kubernetes/overlays/uninstall"), "DaemonSet")["spec"]["template"]["spec"]
    names = [c["name"] for c in spec["initContainers"]]
    check(names == ["remove-hooks", "remove-pins"], f"hooks first, then pins: {names}")
    hooks, pins = spec["initContainers"]
    check(pins["command"][:2] == ["/usr/bin/tierwalld", "--uninstall"], "pins: tierwalld --uninstall")
    check(host_paths(spec, pins).get("/sys/fs/bpf") == "/sys/fs/bpf", "pins: the host's bpffs")
    mounts = host_paths(spec, hooks)
    removed = {a for a in hooks["command"] if a.startswith("/host/")}
    for o in RUNTIMES:      # every host path an install writes is one the uninstall reaches
        ospec = one(rendered(f"deploy/kubernetes/overlays/{o}"), "DaemonSet")["spec"]["template"]["spec"]
        for c in ospec.get("initContainers", []):
            for mp, hp in host_paths(ospec, c).items():
                check(hp in mounts.values(), f"uninstall reaches {hp} ({o})")
    for f in ("/host/opt/nri/plugins/10-tierwall", "/host/etc/nri/conf.d/10-tierwall.conf",
              "/host/etc/containers/oci/hooks.d/50-tierwall.json", "/host/usr/libexec/tierwall/tierwall-oci-hook"):
        check(f in removed, f"uninstall removes {f}")
    check(any(c["command"][-1] == "--hold" for c in spec["containers"]), "then holds: rollout status")


# ---- the image ----

def image_members():
    if not os.path.exists(IMAGE):
        raise Skip(f"{IMAGE} is missing (make image)")
    with tarfile.open(IMAGE) as t:
        return {m.name: t.extractfile(m).read() if m.isfile() else None for m in t.getmembers()}


def layer_members(files):
    idx = json.loads(files["index.json"])
    man = json.loads(files["blobs/sha256/" + idx["manifests"][0]["digest"][7:]])
    layer = files["blobs/sha256/" + man["layers"][0]["digest"][7:]]
    t = tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz")
    return t, man


@test
def image_docker_manifest_beside_the_oci_layout():
    files = image_members()
    idx = json.loads(files["index.json"])
    man = json.loads(files["blobs/sha256/" + idx["manifests"][0]["digest"][7:]])
    dm = json.loads(files["manifest.json"])
    check(len(dm) == 1, "one image in manifest.json")
    check(dm[0]["Config"] == "blobs/sha256/" + man["config"]["digest"][7:], "the same config blob")
    check(dm[0]["Layers"] == ["blobs/sha256/" + l["digest"][7:] for l in man["layers"]], "the same layers")
    check(dm[0]["RepoTags"] == [idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]],
          "tagged with the OCI ref name")


@test
def image_oci_labels():
    files = image_members()
    dm = json.loads(files["manifest.json"])
    labels = json.loads(files[dm[0]["Config"]])["config"]["Labels"]
    for k in ("title", "description", "version", "revision", "created", "licenses"):
        check(labels.get("org.opencontainers.image." + k), f"label org.opencontainers.image.{k}")


@test
def image_binaries_stripped_no_empty_or_world_writable_files():
    t, _ = layer_members(image_members())
    with tempfile.TemporaryDirectory() as d:
        elves = 0
        for m in t.getmembers():
            check(not m.mode & 0o002, f"{m.name} is world-writable ({oct(m.mode)})")
            if not m.isfile():
                continue
            check(m.size > 0, f"{m.name} is empty")
            data = t.extractfile(m).read()
            if data[:4] == b"\x7fELF":
                p = os.path.join(d, "elf")
                open(p, "wb").write(data)
                secs = subprocess.run(["readelf", "-S", "-W", p], capture_output=True, text=True).stdout
                check(".symtab" not in secs and ".debug_info" not in secs, f"{m.name} is not stripped")
                elves += 1
        check(elves >= 3, f"the binaries are there ({elves} ELF files)")


@test
def image_two_builds_are_byte_identical():
    if not os.path.exists(IMAGE):
        raise Skip(f"{IMAGE} is missing (make image)")
    out = subprocess.run(["make", "-s", "-n", "-W", "deploy/image/mkimage.py", f"OUTPUT={BUILD}", IMAGE],
                         cwd=ROOT, capture_output=True, text=True).stdout.replace("\\\n", " ")
    line = next(l for l in out.splitlines() if "mkimage.py" in l)
    argv = shlex.split(line)
    i = argv.index(IMAGE) if IMAGE in argv else argv.index(os.path.relpath(IMAGE, ROOT))
    with tempfile.TemporaryDirectory() as d:
        outs = []
        for n in (1, 2):
            argv[i] = os.path.join(d, f"{n}.tar")
            subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
            outs.append(open(argv[i], "rb").read())
        check(outs[0] == outs[1], "two builds from the same tree differ")


@test
def image_podman_reads_it_as_docker_and_oci_archive():
    if not shutil.which("podman"):
        raise Skip("podman is not installed (make test-deps installs it)")
    if not os.path.exists(IMAGE):
        raise Skip(f"{IMAGE} is missing (make image)")
    d = tempfile.mkdtemp(prefix="tw-podman-")
    try:
        pm = ["podman", "--root", d + "/root", "--runroot", d + "/run", "--storage-driver", "vfs"]
        name = json.loads(image_members()["manifest.json"])[0]["RepoTags"][0]
        for transport in ("docker-archive", "oci-archive"):
            subprocess.run(pm + ["pull", "-q", f"{transport}:{IMAGE}"], check=True, capture_output=True)
            out = subprocess.run(pm + ["image", "inspect", name, "--format", "{{json .Labels}}"],
                                 check=True, capture_output=True, text=True).stdout
            check(json.loads(out).get("org.opencontainers.image.title") == "tierwall",
                  f"{transport}: labels read back")
            subprocess.run(pm + ["rmi", "-f", name], check=True, capture_output=True)
    finally:
        subprocess.run(["podman", "--root", d + "/root", "--runroot", d + "/run", "--storage-driver", "vfs",
                        "system", "reset", "-f"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def main():
    global K, KWHY
    try:
        import yaml  # noqa: F401
        K, KWHY = kustomize.find()
    except ImportError:
        K, KWHY = None, "python3-yaml is missing (make test-deps)"
    for t in (k8s_every_overlay_renders, k8s_base_promises_in_every_runtime_overlay,
              k8s_each_runtime_overlay_installs_its_hook, k8s_caps_and_servicemonitor_compose_over_a_runtime_overlay,
              k8s_uninstall_removes_every_hook_then_the_pins, image_docker_manifest_beside_the_oci_layout,
              image_oci_labels, image_binaries_stripped_no_empty_or_world_writable_files,
              image_two_builds_are_byte_identical, image_podman_reads_it_as_docker_and_oci_archive):
        t()
    print(f"{results.count('ok')} passed, {results.count('fail')} failed, {results.count('skip')} skipped")
    return 1 if "fail" in results else 0


if __name__ == "__main__":
    sys.exit(main())
