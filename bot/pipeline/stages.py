"""The review steps shared by the service and the CLI, in the order DESIGN.md lists them.

Input is a snapshot (ReviewInput) whose files come from any FileTree; the shell supplies what
needs I/O (model credentials, the result cache, team and permission look-ups) through Context.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from unidiff import PatchSet

from bot.core.config import CONFIG_PATH, RepoConfig, parse_config
from bot.core.errors import SourceError, UserError
from bot.core.files import FileTree, is_prompt
from bot.core.approval import ApprovalInput, ApprovalVerdict, Review, evaluate_approval
from bot.core.compare import CaseStatus
from bot.core.owners import OwnersFile, parse_owners
from bot.core.report import EvalReport
from bot.core.semdiff import diff_prompt, diff_texts
from bot.core.explain.model import Explanation
from bot.evals import EvalRequest, MemoryCache, ResultCache, find_dependencies, run_evals
from bot.evals.generators import CodePolicy
from bot.evals.loaded import LoadedSuites
from bot.evals.runner import readers_as_cases_run, rendered_reads
from bot.evals.testcases import is_image, is_media
from bot.evals.explain import ExplainRequest, explain, with_explain_stats
from bot.core.result import Acceptance, ChangedFile, EvalsSkip, Problem, ProblemKind, PromptChange, ReviewResult

log = logging.getLogger("prompt_review.pipeline")


@dataclass(frozen=True)
class ReviewInput:
    repo: str
    pr: int | None
    base_sha: str
    head_sha: str
    author: str | None
    changed: tuple[ChangedFile, ...]
    base: FileTree
    head: FileTree
    # The changed-file list is incomplete: GitHub listed 3,000 files and its tree listings were cut too.
    files_truncated: bool = False
    reviews: tuple[Review, ...] = ()
    evals_blocked_reason: str | None = None  # set by a caller that must not run evals (see `fork`)
    # A PR from a fork runs paid evals only when this event is the maintainer adding the label the base
    # config names (evals.forks.label); the stage decides, with the one config it parsed.
    fork: bool = False
    label_added: str | None = None


@dataclass
class Context:
    env: Mapping[str, str] = field(default_factory=dict)
    cache: ResultCache | None = None
    suites_override: list[str] | None = None
    config_path: str = CONFIG_PATH  # read from the base branch, wherever it is
    progress: Callable[[int, int], None] | None = None
    cancelled: Callable[[], bool] | None = None
    team_members: Callable[[set[str]], Mapping[str, frozenset[str]]] = lambda teams: {}
    write_access: Callable[[set[str]], frozenset[str]] = lambda users: frozenset()
    fresh_commits: frozenset[str] | None = None
    # Head SHAs on which approvals still count, given the reviewed files' versions of this review
    # (path → version hash): the service answers from its history of reviews; None = all count.
    freshness: Callable[[Mapping[str, str | None]], frozenset[str]] | None = None
    accepted_regression: Acceptance | None = None
    with_approval: bool = True

    def suites(self, config: RepoConfig) -> list[str] | None:
        """The suites this review covers: the override, else the base config's (None: every suite found)."""
        return self.suites_override if self.suites_override is not None else config.suites


def fork_gate(inp: ReviewInput, config: RepoConfig) -> str | None:
    """Why evals must wait (a fork PR without the maintainer's label on this event), or None."""
    if inp.evals_blocked_reason:
        return inp.evals_blocked_reason
    label = config.evals.forks.label
    if not inp.fork or inp.label_added == label:
        return None
    return (
        f"Evals call paid model providers, so they run on PRs from forks only after a maintainer adds the "
        f"`{label}` label (re-apply it after each new push)."
    )


def load_config(base: FileTree, path: str = CONFIG_PATH) -> tuple[RepoConfig, list[Problem]]:
    """The config from the base branch; on errors, defaults plus a blocking problem naming file:line.
    `path` is where it lives (the Action's `config` input may name another file, still on the base)."""
    try:
        return parse_config(base.read(path), path), []
    except UserError as exc:
        return RepoConfig(), [
            Problem(
                title=f"`{path}` is invalid",
                detail="Fix the file on the base branch (it is read from there, so this PR cannot change the rules it is judged by).",
                errors=tuple(exc.errors),
            )
        ]


def review_suites(inp: ReviewInput, config: RepoConfig) -> LoadedSuites:
    """The review's memo of parsed suites, with its gate for code that runs while they load (test generators, hooks):
    the base branch's runs, the PR's by `evals.run_pr_code`, a fork's never."""
    return LoadedSuites(config.limits, CodePolicy(inp.base, not inp.fork, config.evals, config.limits))


def under_review(inp: ReviewInput, config: RepoConfig, ctx: "Context", loaded: LoadedSuites | None = None) -> dict[str, str]:
    """Every file under review, with why: each file any suite depends on at base or head (the suite,
    the prompts it renders and what they include, test and var files), plus `prompts.include`.
    The patterns widen the set; they can never hide a file a suite reads."""
    why: dict[str, str] = {}
    suites = ctx.suites(config)
    for dep in find_dependencies(inp.base, inp.head, suites, loaded if loaded is not None else review_suites(inp, config)):
        why.setdefault(dep.path, dep.reason)
    return why


def detect_prompts(
    changed: tuple[ChangedFile, ...], config: RepoConfig, reviewed: Mapping[str, str] | None = None
) -> list[tuple[ChangedFile, str]]:
    """The changed files under review, each with why."""
    include, exclude = config.prompts.include, config.prompts.exclude
    reviewed = reviewed or {}
    out = []
    for f in changed:
        names = (f.path,) if f.previous_path is None else (f.path, f.previous_path)
        why = next((reviewed[n] for n in names if n in reviewed), None)
        if why is None and any(is_prompt(n, include, exclude) for n in names):
            why = "matches prompts.include"
        if why is not None:
            out.append((f, why))
    return out


def _text(data: bytes | None, path: str, problems: list[Problem], limit: int) -> tuple[str | None, str | None]:
    """(text, None) for a readable prompt; (None, why) when the file exists but cannot be reviewed."""
    if data is None:
        return None, None
    if len(data) > limit:
        problems.append(
            Problem(
                title=f"`{path}` is too large to diff",
                detail=f"{len(data):,} bytes is over the limit of {limit:,} (raise `limits.max_prompt_bytes` in {CONFIG_PATH}).",
                errors=(SourceError(path, f"file is {len(data):,} bytes; limit {limit:,}"),),
                blocking=False,
                kind=ProblemKind.UNREADABLE,
            )
        )
        return None, "too large"
    if is_media(path):  # an image, video or audio var file: reviewed by what identifies it, never its bytes
        kind = "image" if is_image(path) else "media"
        return f"[{kind} file {path.rsplit('/', 1)[-1]}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}]\n", None
    if b"\0" in data[:8192]:
        problems.append(
            Problem(
                title=f"`{path}` is not a text file",
                detail="It matches the prompt patterns but contains binary data; it was not diffed.",
                errors=(SourceError(path, "binary content"),),
                blocking=False,
                kind=ProblemKind.UNREADABLE,
            )
        )
        return None, "binary"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(
                title=f"`{path}` is not UTF-8",
                detail="Prompt files must be UTF-8 text; it was not diffed.",
                errors=(SourceError(path, f"invalid UTF-8 at byte {exc.start}"),),
                blocking=False,
                kind=ProblemKind.UNREADABLE,
            )
        )
        return None, "not UTF-8"


def version_hash(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()[:12]


def prompt_changes(
    prompts: list[tuple[ChangedFile, str]], inp: ReviewInput, config: RepoConfig
) -> tuple[list[PromptChange], list[Problem]]:
    problems: list[Problem] = []
    changes = []
    limit = config.limits.max_prompt_bytes
    for f, why in prompts:
        before_path = f.previous_path or f.path
        before, base_unread = (None, None) if f.status == "added" else _text(inp.base.read(before_path), before_path, problems, limit)
        after, head_unread = (None, None) if f.status == "removed" else _text(inp.head.read(f.path), f.path, problems, limit)
        diff_text = "".join(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"a/{before_path}" if before is not None else "/dev/null",
                tofile=f"b/{f.path}" if after is not None else "/dev/null",
            )
        )
        added = removed = 0
        if diff_text:
            try:
                patch = PatchSet(diff_text if diff_text.endswith("\n") else diff_text + "\n")
                added, removed = sum(p.added for p in patch), sum(p.removed for p in patch)
            except Exception:  # a diff of text without trailing newline markers; counts are cosmetic
                pass
        semdiff = None
        try:
            if f.previous_path is None and before is not None and after is not None and not is_media(f.path):
                semdiff = diff_prompt(f.path, inp.base, inp.head)
            else:
                semdiff = diff_texts(f.path, before, after)
        except Exception as exc:  # the plain diff still shows; say what failed
            log.exception("semantic diff failed for %s", f.path)
            problems.append(
                Problem(
                    title=f"semantic diff unavailable for `{f.path}`",
                    detail=f"{type(exc).__name__}; the plain diff is shown instead.",
                    blocking=False,
                    kind=ProblemKind.SEMDIFF_FAILED,
                )
            )
        changes.append(
            PromptChange(
                path=f.path,
                status=f.status,
                previous_path=f.previous_path,
                unified_diff=diff_text,
                lines_added=added,
                lines_removed=removed,
                base_hash=version_hash(before),
                head_hash=version_hash(after),
                base_unread=base_unread,
                head_unread=head_unread,
                semdiff=semdiff,
                why=why,
            )
        )
    return changes, problems


def run_evals_stage(
    inp: ReviewInput, config: RepoConfig, changes: list[PromptChange], ctx: Context, loaded: LoadedSuites | None = None
) -> tuple[EvalReport | None, str | None]:
    """Run affected cases on both sides. Returns (report | None, skipped_reason | None)."""
    blocked = fork_gate(inp, config)
    if blocked:
        return None, blocked
    formatting_only = frozenset(
        c.path for c in changes if c.semdiff is not None and c.semdiff.formatting_only
    ) if config.evals.skip_evals_on_formatting_only else frozenset()
    request = EvalRequest(
        base=inp.base,
        head=inp.head,
        config=config.evals,
        suites=ctx.suites(config),
        formatting_only=formatting_only,
        env=dict(ctx.env),
        limits=config.limits,
        same_repo=not inp.fork,  # a fork's own suite code never runs (docs/sandbox.md)
        loaded=loaded,
    )
    report = asyncio.run(
        run_evals(request, cache=ctx.cache if ctx.cache is not None else MemoryCache(), progress=ctx.progress, cancelled=ctx.cancelled)
    )
    return report, None


def explain_stage(
    inp: ReviewInput, config: RepoConfig, changes: list[PromptChange], report: EvalReport | None, ctx: Context,
    loaded: LoadedSuites | None = None,
) -> Explanation | None:
    """Clusters of the regressed and fixed cases and the change behind each (ablation, budgeted)."""
    if report is None or (ctx.cancelled and ctx.cancelled()):
        return None
    request = ExplainRequest(base=inp.base, head=inp.head, prompts=tuple(changes), config=config.evals,
                             limits=config.limits, env=dict(ctx.env), loaded=loaded)
    return asyncio.run(explain(request, report, ctx.cache if ctx.cache is not None else MemoryCache(), ctx.cancelled))


def _cases_run(report: EvalReport) -> int:
    return report.stats.cases_run


def load_owners(base: FileTree, config: RepoConfig) -> OwnersFile:
    """The owners file from the base branch (`approval.owners_file`, or CODEOWNERS when opted in)."""
    path = config.approval.owners_file
    raw = base.read(path)
    if raw is None and config.approval.fallback_to_codeowners:
        path, raw = ".github/CODEOWNERS", base.read(".github/CODEOWNERS")
    return parse_owners(raw, path)


def owner_teams(owners: OwnersFile, paths: Iterable[str]) -> set[str]:
    """'org/team' for every team that owns one of `paths` (the caller resolves their members)."""
    return {o[1:] for path in paths for o in (owners.owners_for(path) or ()) if o.startswith("@") and "/" in o}


def acceptance_paths(result: ReviewResult) -> tuple[str, ...]:
    """Whose owners may accept the blocking cases: the changed prompts for regressions (a renamed
    prompt's base path too), the suite for checks loosened in it."""
    report = result.evals
    if report is None:
        return ()
    cases = report.cases()
    paths: list[str] = []
    if any(c.status is CaseStatus.REGRESSED for c in cases):
        changed = [p for p in result.prompts if p.why != "suite"] or list(result.prompts)
        paths += [p.path for p in changed] + [p.previous_path for p in changed if p.previous_path]
    paths += sorted({c.suite for c in cases if c.loosened})
    return tuple(dict.fromkeys(paths))


def accepted_cases(result: ReviewResult) -> list[str]:
    """The keys of the cases an acceptance covers: regressed ones and those with loosened checks."""
    return [c.key for c in (result.evals.cases() if result.evals else ()) if c.status is CaseStatus.REGRESSED or c.loosened]


def approval_stage(
    inp: ReviewInput, config: RepoConfig, changes: list[PromptChange], evals_regressed: bool, ctx: Context
) -> ApprovalVerdict:
    owners = load_owners(inp.base, config)
    # A renamed file keeps its base path's owners as well as the new path's: moving a prompt out of
    # an owned folder must not drop the owner who guards it.
    changed_paths = tuple(dict.fromkeys([c.path for c in changes] + [c.previous_path for c in changes if c.previous_path]))
    teams = owner_teams(owners, changed_paths + (ctx.config_path, owners.file))
    reviewers = {r.user for r in inp.reviews}
    return evaluate_approval(
        ApprovalInput(
            changed_prompts=changed_paths,
            changed_files=tuple(f.path for f in inp.changed),
            author=inp.author or "",
            reviews=tuple(inp.reviews),
            fresh_commits=ctx.fresh_commits,
            owners=owners,
            config=config.approval,
            config_path=ctx.config_path,
            team_members=ctx.team_members(teams),
            write_access=ctx.write_access(reviewers),
            evals_regressed=evals_regressed,
            regression_accepted_by=ctx.accepted_regression.by if ctx.accepted_regression else None,
        )
    )


def review(inp: ReviewInput, ctx: Context) -> ReviewResult:
    """Everything but publishing: the ReviewResult the renderers turn into comment and checks."""
    config, problems = load_config(inp.base, ctx.config_path)
    result = ReviewResult(
        repo=inp.repo,
        pr=inp.pr,
        base_sha=inp.base_sha,
        head_sha=inp.head_sha,
        prompts=(),
        files_changed=len(inp.changed),
        files_truncated=inp.files_truncated,
        problems=tuple(problems),
        accepted_regression=ctx.accepted_regression,
    )
    if inp.files_truncated:
        problems.append(
            Problem(
                kind=ProblemKind.FILES_TRUNCATED,
                title="this PR changes more files than GitHub lists",
                detail=(
                    "GitHub lists at most 3,000 changed files of a pull request, and its recursive tree listing "
                    "(at most 100,000 entries or 7 MB) of this repository was cut short too, so the changed prompt "
                    "files cannot all be found. Split the PR into pull requests of at most 3,000 files each."
                ),
            )
        )
    if any(p.kind is ProblemKind.CONFIG_INVALID for p in problems):
        return result  # with a broken config nothing else can be trusted
    loaded = review_suites(inp, config)  # each suite parsed once per side for the whole review
    prompts = detect_prompts(inp.changed, config, under_review(inp, config, ctx, loaded))
    # The limit bounds the files the review reads and diffs; other changed files cost nothing.
    if len(prompts) > config.limits.max_files:
        problems.append(
            Problem(
                kind=ProblemKind.TOO_MANY_FILES,
                title="this PR changes too many prompt files",
                detail=f"{len(prompts):,} prompt files is over `limits.max_files` ({config.limits.max_files:,}) in {CONFIG_PATH}.",
            )
        )
    changes, diff_problems = prompt_changes(prompts, inp, config)
    problems.extend(diff_problems)
    result = replace(result, prompts=tuple(changes), problems=tuple(problems))
    if inp.files_truncated:
        return result  # evals and approval over a partial file list would pass what nobody checked

    report, skipped = None, None
    if ctx.cancelled and ctx.cancelled():
        return result
    if ctx.cache is None:  # one cache for the eval run and the ablation that follows it
        ctx = replace(ctx, cache=MemoryCache())
    if inp.changed:
        report, skipped = run_evals_stage(inp, config, changes, ctx, loaded)
    # files the code rendering the cases read (prompt functions, computed vars) are under review too: the evals found
    # them as they rendered; evals that wait (a fork's label) render the cases for them, calling no model
    deps = report.dependencies if report is not None else rendered_reads(
        inp.base, inp.head, ctx.suites(config), loaded, config.evals, config.limits, not inp.fork) if skipped else ()
    if deps:
        shown = {c.path for c in changes}
        read = {d.path: d.reason for d in deps if d.path not in shown}
        more = [(f, why) for f, why in detect_prompts(inp.changed, config, read) if why != "matches prompts.include"]
        if more:
            extra, extra_problems = prompt_changes(more, inp, config)
            changes = changes + extra
            problems.extend(extra_problems)
            result = replace(result, prompts=tuple(changes), problems=tuple(problems))
    # code that reads the repository while its case runs (an assertion reading expected answers) reads what only running
    # it shows: evals that wait cannot say the PR's files are not among them, so the PR waits rather than passes
    readers = readers_as_cases_run(inp.base, inp.head, ctx.suites(config), loaded) if skipped and inp.changed else ()
    unknown = bool(readers) and report is None
    if unknown and not changes and skipped:
        skipped = (f"{skipped} ({', '.join(readers[:3])}{' …' if len(readers) > 3 else ''} read the repository as their "
                   "cases run: whether this PR's files change a case is known only by running them)")
    if not changes and not unknown and (report is None or (_cases_run(report) == 0 and not report.errors)):
        return replace(result, evals=None, evals_skipped_reason=None)  # nothing under review changed
    result = replace(result, evals=report, evals_skipped_reason=skipped,
                     evals_skipped=EvalsSkip.WAITING_FOR_LABEL if skipped else None)
    explanation = explain_stage(inp, config, changes, report, ctx, loaded)
    if report is not None:  # the stats count every call the review made, the ablation's too
        result = replace(result, evals=with_explain_stats(report, explanation))
    result = replace(result, explanation=explanation)
    if ctx.with_approval and not any(p.blocking for p in result.problems):
        result = with_approval(inp, config, result, ctx)
    return result


def with_approval(inp: ReviewInput, config: RepoConfig, result: ReviewResult, ctx: Context) -> ReviewResult:
    """The approval verdict for this review: also what the approval and accept-regression jobs
    re-run over a stored review when a review is submitted or a regression accepted."""
    accepted = ctx.accepted_regression
    regressed = result.evals is not None and result.evals.verdict.blocking and accepted is None
    if ctx.freshness is not None:  # which approvals are stale depends on the versions this review hashed
        ctx = replace(ctx, fresh_commits=ctx.freshness({p.path: p.head_hash for p in result.prompts}))
    approval = approval_stage(inp, config, list(result.prompts), regressed, ctx)
    return replace(result, approval=approval, accepted_regression=accepted)
