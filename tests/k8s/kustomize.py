# SPDX-License-Identifier: GPL-2.0
"""Render deploy/kubernetes overlays with Debian 13's kustomize, unpacked into
the build tree by tests/trixie.sh (the host's packages untouched)."""
import os, shutil, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TW_BUILD_DIR", os.path.join(ROOT, "build"))
TRIXIE = os.path.join(BUILD, "trixie")


def find():
    """kustomize's path, or (None, why not)."""
    local = os.path.join(TRIXIE, "root/usr/bin/kustomize")
    if not os.path.exists(local):
        r = subprocess.run([os.path.join(ROOT, "tests/trixie.sh"), TRIXIE, "kustomize"],
                           capture_output=True, text=True)
        if r.returncode:
            return None, r.stderr.strip() or f"tests/trixie.sh exited {r.returncode}"
    return local, None


def render(kustomize, overlay):
    """The documents an overlay (a directory under the repository) renders to."""
    import yaml
    out = subprocess.run([kustomize, "build", os.path.join(ROOT, overlay)],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"kustomize build {overlay}: {out.stderr.strip()}")
    return list(yaml.safe_load_all(out.stdout))
