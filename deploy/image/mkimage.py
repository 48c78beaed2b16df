#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write an OCI image archive (oci-layout, index.json, blobs/) from files on
this machine: no registry, no daemon, no network. Deterministic: the same
inputs give the same digests.

  mkimage.py OUT.tar NAME:TAG [--entrypoint PATH] [--libs] [--strip]
             [--label KEY=VALUE]... DEST=SRC ...

--libs adds the shared libraries each binary needs (from ldd), so dynamically
linked binaries run on an otherwise empty root. --strip strips every ELF file
(symbols and debug sections: the image runs them, nobody debugs in it). A
DEST ending in / is a directory created empty (0755: nothing in the image is
world-writable); an empty file is refused. `ctr images import`, `podman
load` and `docker load` read the result: the OCI layout (index.json, the name
in both ref.name and containerd's annotation) and beside it docker's
manifest.json naming the same config and layer blobs."""
import gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile, tempfile

def ldd(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and parts[parts.index("=>") + 1].startswith("/"):
            libs.append(parts[parts.index("=>") + 1])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])            # the dynamic loader
    return libs

def stripped(src, tmpdir):
    """A stripped copy of an ELF file (strip's output depends only on its input)."""
    with open(src, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return src
    out = os.path.join(tmpdir, str(len(os.listdir(tmpdir))))
    subprocess.run(["strip", "--strip-all", "-o", out, src], check=True)
    shutil.copymode(src, out)
    return out

def add(tar, dest, src):
    dest = dest.lstrip("/")
    parts = dest.rstrip("/").split("/")
    for i in range(1, len(parts)):          # parents first, once
        d = "/".join(parts[:i])
        if d not in tar.getnames():
            ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
            tar.addfile(ti)
    if src is None:
        ti = tarfile.TarInfo(dest.rstrip("/")); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
        if ti.name not in tar.getnames():
            tar.addfile(ti)
        return
    real = os.path.realpath(src)
    if os.path.getsize(real) == 0:
        sys.exit(f"mkimage.py: {dest}: {src} is empty (an image holds no empty files)")
    ti = tarfile.TarInfo(dest); ti.size = os.path.getsize(real)
    ti.mode = os.stat(real).st_mode & 0o755
    with open(real, "rb") as f:
        tar.addfile(ti, f)

def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    ti = tarfile.TarInfo("blobs/sha256/" + digest); ti.size = len(data); ti.mode = 0o644
    out.addfile(ti, io.BytesIO(data))
    return "sha256:" + digest

def main(argv):
    out_path, name = argv[0], argv[1]
    entry, files, libs, strip, labels = None, [], False, False, {}
    args = iter(argv[2:])
    for a in args:
        if a == "--entrypoint":
            entry = next(args)
        elif a == "--libs":
            libs = True
        elif a == "--strip":
            strip = True
        elif a == "--label":
            k, _, v = next(args).partition("=")
            labels[k] = v
        else:
            dest, _, src = a.partition("=")
            files.append((dest, src or None))
    if libs:
        seen = {d for d, _ in files}
        for _, src in list(files):
            for lib in ldd(src) if src else []:
                if lib not in seen:
                    files.append((lib, lib)); seen.add(lib)
    raw = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, \
         tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for dest, src in files:
            add(layer, dest, stripped(src, tmp) if strip and src else src)
    layer_tar = raw.getvalue()
    layer_gz = gzip.compress(layer_tar, mtime=0)
    with tarfile.open(out_path + ".tmp", "w", format=tarfile.PAX_FORMAT) as out:
        ldig = blob(out, layer_gz)
        config = {
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
                       **({"Entrypoint": [entry]} if entry else {}),
                       **({"Labels": labels} if labels else {})},
            "rootfs": {"type": "layers",
                       "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
            "history": [{"created_by": "deploy/image/mkimage.py"}],
        }
        cdata = json.dumps(config, sort_keys=True).encode()
        cdig = blob(out, cdata)
        manifest = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdig, "size": len(cdata)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": ldig, "size": len(layer_gz)}],
        }
        mdata = json.dumps(manifest, sort_keys=True).encode()
        mdig = blob(out, mdata)
        index = {"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdig, "size": len(mdata),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name}}]}
        # docker load: the same blobs, named by path.
        docker = [{"Config": "blobs/sha256/" + cdig[7:], "RepoTags": [name],
                   "Layers": ["blobs/sha256/" + ldig[7:]]}]
        for fname, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                            ("index.json", json.dumps(index, sort_keys=True).encode()),
                            ("manifest.json", json.dumps(docker, sort_keys=True).encode())):
            ti = tarfile.TarInfo(fname); ti.size = len(data); ti.mode = 0o644
            out.addfile(ti, io.BytesIO(data))
    os.replace(out_path + ".tmp", out_path)
    print(f"{out_path}: {name}, {mdig}, layer {len(layer_gz)} bytes")

if __name__ == "__main__":
    main(sys.argv[1:])
