"""What code read of the repository while its case ran (an assertion reading an expected answer, a provider loading the
skill it ships; bot.evals.select.case_readers says which code may): kept with each result as the state of every path it
read, asked about or listed (bot.evals.sandbox.repo_files.RepoFiles.recorded / state), and used three ways by the
runner (docs/sandbox.md, "Reading as the case runs"):

- a cached result counts only while what its code read is as it was in the tree the run is for (`cached`): it is kept
  under its key and under the state of what it read (`store`), so the base's and the head's results are both found;
- an otherwise unaffected case runs its base first, and is affected when the head changed what that run read
  (`read_changes`);
- what was read is under review, like what a prompt function read (`runtime_reads`).
"""

from __future__ import annotations

import posixpath

from bot.core.files import FileTree
from bot.evals.cache import ResultCache
from bot.evals.sandbox.repo_files import LISTING, MAX_TOTAL_BYTES, STAT, RepoFiles, may_read
from bot.evals.select import CaseInput, case_readers, digest
from bot.evals.suite import Code, Suite


def readers(case: CaseInput) -> str:
    """The files of the case's code that reads the repository as it runs, for messages."""
    return ", ".join(dict.fromkeys(c.file or "inline code" for c in case_readers(case)))


def view(tree: FileTree, case: CaseInput) -> RepoFiles:
    """A fresh read-only view of `tree` for the case's code, in its suite's folder."""
    return RepoFiles(tree, posixpath.dirname(case.suite))


def cached(cache: ResultCache, key: str, tree: FileTree | None, case: CaseInput) -> dict | None:
    """The cached result under `key`; for code that read the repository (`tree` its side's), only while what it read
    is as it was in `tree`."""
    hit = cache.get(key)
    if hit is None or "reads" not in hit:
        return hit
    if tree is None or not isinstance(hit["reads"], dict):
        return None
    files = view(tree, case)
    changed = files.changed(hit["reads"])
    if not changed:
        return hit
    if files.bytes_of(changed) > MAX_TOTAL_BYTES:  # finding the other result would read more than the code may
        return None
    other = cache.get(_by_reads(key, {**hit["reads"], **files.state(changed)}))
    if other is not None and isinstance(other.get("reads"), dict) and not files.changed(other["reads"]):
        return other
    return None


def store(cache: ResultCache, key: str, result: dict) -> None:
    cache.put(key, result)
    if isinstance(result.get("reads"), dict):
        cache.put(_by_reads(key, result["reads"]), result)


def _by_reads(key: str, reads: dict) -> str:
    """The second key of a result of code that read the repository: its key and the state of what it read (one digest:
    a cache may keep only so many characters of a key)."""
    return digest({"key": key, "reads": reads})


def read_changes(result: dict | None, case: CaseInput, head: FileTree) -> tuple[str, ...]:
    """Why a case the PR left alone is affected after all: the files its code read on the base (`result`, the base's
    run) that the head changed; when the base run did not finish, what it reads is unknown, and the case runs."""
    who = readers(case)
    if result is None:
        return (f"{who} reads the repository as the case runs, and the base run that finds what it reads did not finish",)
    changed = view(head, case).changed(result.get("reads") or {})
    shown = [k[len(STAT):] if k.startswith(STAT) else f"folder {k[len(LISTING):] or '.'}" if k.startswith(LISTING) else k
             for k in changed]
    return tuple(f"file {what} read by {who} changed" for what in shown)


def runtime_reads(result: dict | None, case: CaseInput) -> list[tuple[str, str]]:
    """(path, the code's files) of each path a run's code read or asked about while it ran (not folders: what is in
    them is)."""
    reads = (result or {}).get("reads")
    if not isinstance(reads, dict):
        return []
    who = readers(case)
    out = []
    for key, was in reads.items():
        path = key[len(STAT):] if key.startswith(STAT) else None if key.startswith(LISTING) else key
        if path and was != "dir":
            out.append((path, who))
    return out


def suite_readers(suite: Suite, path: str) -> list[str]:
    """The files of the suite's code that may read the repository as its cases run (case_readers, before expanding)."""
    code: list[Code] = [c for t in suite.tests for a in t.asserts for _, c in a.code_items()]
    code += [t.transform for t in suite.tests if t.transform is not None]
    providers = [*suite.providers, *(t.provider for t in suite.tests if t.provider is not None)]
    code += [c for p in providers for c in (p.code, p.response_transform, p.transform) if c is not None]
    return [c.file or f"inline code of {path}" for c in code if may_read(c)]
