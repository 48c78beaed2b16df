#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write an OCI image archive (oci-layout, index.json, blobs/) from files on
this machine: no registry, no daemon, no network. Deterministic: the same
inputs give the same digests.

  mkimage.py OUT.tar NAME:TAG [--entrypoint PATH] [--libs] DEST=SRC ...

--libs adds the shared libraries each binary needs (from ldd), so dynamically
linked binaries run on an otherwise empty root. A DEST ending in / is a
directory created empty. `ctr images import` and `podman load` read the
result; the name is in both the OCI ref.name and containerd's annotation."""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

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
    ti = tarfile.TarInfo(dest); ti.size = os.path.getsize(real)
    ti.mode = os.stat(real).st_mode & 0o777
    with open(real, "rb") as f:
        tar.addfile(ti, f)

def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    ti = tarfile.TarInfo("blobs/sha256/" + digest); ti.size = len(data); ti.mode = 0o644
    out.addfile(ti, io.BytesIO(data))
    return "sha256:" + digest

def main(argv):
    out_path, name = argv[0], argv[1]
    entry, files, libs = None, [], False
    args = iter(argv[2:])
    for a in args:
        if a == "--entrypoint":
            entry = next(args)
        elif a == "--libs":
            libs = True
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
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for dest, src in files:
            add(layer, dest, src)
    layer_tar = raw.getvalue()
    layer_gz = gzip.compress(layer_tar, mtime=0)
    with tarfile.open(out_path + ".tmp", "w", format=tarfile.PAX_FORMAT) as out:
        ldig = blob(out, layer_gz)
        config = {
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
                       **({"Entrypoint": [entry]} if entry else {})},
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
        for fname, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                            ("index.json", json.dumps(index, sort_keys=True).encode())):
            ti = tarfile.TarInfo(fname); ti.size = len(data); ti.mode = 0o644
            out.addfile(ti, io.BytesIO(data))
    os.replace(out_path + ".tmp", out_path)
    print(f"{out_path}: {name}, {mdig}, layer {len(layer_gz)} bytes")

if __name__ == "__main__":
    main(sys.argv[1:])
