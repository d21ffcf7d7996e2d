"""A bundle from a local checkout: the prompts at a commit, as the manifest would list them, so a build
can ship a real, attributable version without reaching the service."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.core.config import CONFIG_PATH, parse_config
from bot.core.files import is_prompt
from bot.core.release import VERSION_CHARS, check_label, describe, etag
from bot.pipeline.trees import GitError, GitTree
from bot.release import variants


def bundle_from_checkout(repo_dir: str, ref: str, label: str) -> dict:
    check_label(label)
    try:
        tree = GitTree(repo_dir, ref)
    except GitError as exc:  # git's own message names the bad ref
        raise BundleError(f"{ref!r} is not a commit in {repo_dir}: {exc}") from None
    commit = tree.sha
    config = parse_config(tree.read(CONFIG_PATH))
    blobs = {path: sha for path, (sha, _size) in tree._listing().files.items()}
    groups = variants.groups_at(tree, config)
    prompts = []
    pins: list[tuple[str, str]] = []  # (path, version) per prompt: what the etag covers
    for path in sorted(p for p in blobs if is_prompt(p, config.prompts.include, config.prompts.exclude)):
        text = (tree.read(path) or b"").decode("utf-8", "replace")
        fmt, model, params = describe(path, text)
        version = blobs[path][:VERSION_CHARS]  # a blob sha is never empty: `short` without its None case
        pins.append((path, version))
        prompts.append({"path": path, "version": version, "content": text, "format": fmt, "model": model,
                        "params": params, "rollout": None,
                        "variants": [v.as_json() for v in variants.group_of(path, groups)], "variant": None})
    remote = _remote_name(repo_dir)
    return {"repo": remote, "label": label, "commit": commit, "model": None, "prompts": prompts,
            "etag": etag(remote, label, commit, pins)}


def _remote_name(repo_dir: str) -> str:
    """OWNER/NAME from the origin URL when there is one, else the directory's name."""
    try:
        url = subprocess.run(["git", "-C", repo_dir, "remote", "get-url", "origin"], capture_output=True, text=True,
                             check=True).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        return Path(repo_dir).resolve().name
    tail = url.removesuffix(".git").replace(":", "/").split("/")
    return "/".join(tail[-2:])


class BundleError(Exception):
    """A bundle that cannot be built (a ref that is not a commit); the message names what is wrong."""
