"""The repo config `.github/prompt-review.yml`, read from the PR's base branch.

Every key is optional; unknown keys are errors (a typo must not silently disable a gate).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.errors import SourceError, UserError
from bot.core.guard import Direction
from bot.core.yamlsrc import load_yaml, pydantic_errors

CONFIG_PATH = ".github/prompt-review.yml"
DEFAULT_OWNERS_FILE = ".github/PROMPTOWNERS"
_HTTP_URL = re.compile(r"https?://[^/\s?#@]+(?:[/?#]\S*)?\Z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptsConfig(_Strict):
    include: list[str] = Field(default_factory=lambda: ["prompts/**", "**/*.prompty", "**/*.prompt"])
    exclude: list[str] = Field(default_factory=list)


class Budget(_Strict):
    max_calls: int = Field(2000, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    max_usd: float = Field(5.0, ge=0)


class ForksConfig(_Strict):
    label: str = "prompt-review:run-evals"


class ExplainConfig(_Strict):
    """Ablation that names the change behind each cluster of regressions (`explain: false` turns it off)."""

    enabled: bool = True
    sample: int = Field(5, ge=1, le=50)  # cases of a cluster re-run per candidate change
    max_calls: int = Field(200, ge=0)  # model calls the ablation may add (inside evals.budget too)


class EvalsConfig(_Strict):
    fail_on: Literal["regression", "any_failure", "never"] = "regression"
    max_regressions: int = Field(0, ge=0)
    min_pass_rate: float | None = Field(None, ge=0, le=1)
    significance: float = Field(0.05, gt=0, lt=1)
    # Share of affected cases that may fail to run (no credentials, provider down, timeouts) before
    # the check fails: by default none — a case that could not be checked never counts as passing.
    max_error_rate: float = Field(0.0, ge=0, le=1)
    repeats: int = Field(1, ge=1, le=20)
    concurrency: int = Field(8, ge=1, le=64)
    timeout_s: float = Field(60.0, gt=0)
    regex_timeout_s: float = Field(1.0, gt=0, le=60)  # one suite regex on one output; past it the case is `error`
    regex_budget_s: float = Field(30.0, gt=0, le=3600)  # all suite regexes of one review together; past it, `error`
    # One model call with its retries; None = 3 × timeout_s. timeout_s bounds each attempt, body included.
    call_timeout_s: float | None = Field(None, gt=0)
    max_response_bytes: int = Field(4_000_000, ge=1024)  # one model answer; past it the case is `error`
    # All model calls of one review's eval run together: past it, calls in flight are stopped and the
    # cases not yet run are `skipped` (could not check). Below the service's 900 s job deadline, so the
    # review still reports what it found instead of being stopped whole.
    total_timeout_s: float = Field(600.0, gt=0)
    # URL prefixes a suite's `apiBaseUrl` may point at (the operator adds more with PROMPT_REVIEW_ALLOWED_MODEL_URLS).
    allowed_base_urls: tuple[str, ...] = ()
    # Environment variables an http/websocket provider's headers may carry as {{env.NAME}}, each with the URL prefix
    # it may be sent to (bot.evals.header_secrets; the operator adds more with PROMPT_REVIEW_HTTP_CREDENTIALS).
    http_credentials: dict[str, str] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    skip_evals_on_formatting_only: bool = True
    forks: ForksConfig = Field(default_factory=ForksConfig)
    # Code assertions (javascript/python) added or changed by the PR: `same-repo` runs them in the sandbox
    # for PRs from branches of this repository, `never` not at all. A fork's code never runs (its evals wait
    # for `forks.label` and then run the base branch's code only). Base-branch code always runs (docs/sandbox.md).
    run_pr_code: Literal["same-repo", "never"] = "same-repo"
    explain: ExplainConfig = Field(default_factory=ExplainConfig)

    @field_validator("explain", mode="before")
    @classmethod
    def _explain_switch(cls, value):
        return {"enabled": value} if isinstance(value, bool) else value

    @field_validator("allowed_base_urls")
    @classmethod
    def _http_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not _HTTP_URL.match(url):
                raise ValueError(f"{url!r} is not an http(s) URL with a host")
        return value

    @field_validator("http_credentials")
    @classmethod
    def _credential_grants(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if not isinstance(url, str) or not _HTTP_URL.match(url):
                raise ValueError(f"{name}: {url!r} is not an http(s) URL prefix with a host")
        return value


class ApprovalRule(_Strict):
    paths: list[str] = Field(min_length=1)
    required_approvals: int = Field(ge=0)


class ApprovalConfig(_Strict):
    owners_file: str = DEFAULT_OWNERS_FILE
    fallback_to_codeowners: bool = False
    required_approvals: int = Field(1, ge=0)
    required_approvals_on_regression: int = Field(2, ge=0)
    allow_author: bool = False
    dismiss_on_push: bool = True
    unowned: Literal["require_write_access", "allow"] = "require_write_access"
    rules: list[ApprovalRule] = Field(default_factory=list)


class LimitsConfig(_Strict):
    max_files: int = Field(3000, ge=1)
    max_prompt_bytes: int = Field(1_000_000, ge=1)  # a prompt file or include: bigger is not diffed nor rendered
    max_cases: int = Field(5000, ge=1)
    max_rendered_prompt_bytes: int = Field(1_000_000, ge=1)  # one case's rendered messages; bigger is an error case
    render_timeout_s: float = Field(2.0, gt=0, le=60)  # one render; past it the case is an error naming the line
    render_budget_s: float = Field(60.0, gt=0, le=3600)  # all renders of one review together
    render_memory_mb: int = Field(256, ge=64, le=4096)  # address space of the render worker process
    code_timeout_s: float = Field(5.0, gt=0, le=300)  # one javascript/python assertion call (wall clock and CPU)
    code_memory_mb: int = Field(256, ge=32, le=4096)  # its JS heap / Python address space


class ReleaseConfig(_Strict):
    # labels a version whose review did not pass may reach only by an owner's recorded override
    protected_labels: list[str] = Field(default_factory=lambda: ["production"])


class RolloutConfig(_Strict):
    """Guarded rollouts (docs/telemetry.md). `scores`: which way each metric gets better for the guard,
    {name: lower | higher}; error_rate and latency_ms are lower-is-better and every score the app reports
    higher-is-better unless named here. A rollout keeps the directions it started with."""

    scores: dict[str, Direction] = Field(default_factory=dict)

    @field_validator("scores")
    @classmethod
    def _names(cls, value: dict[str, Direction]) -> dict[str, Direction]:
        for name in value:
            if not name.strip() or len(name) > 100:
                raise ValueError(f"{name!r} is not a score name (1 to 100 characters, as the app reports it)")
        return value


class RevalidateConfig(_Strict):
    """Re-validation without a PR (docs/model-axis.md): the default branch's suites, on a schedule and
    whenever a provider reports another model or fingerprint than the blessed baseline."""

    schedule: str | None = None  # cron, UTC, e.g. "0 3 * * 1"; None: only the fingerprint trigger
    labels: list[str] = Field(default_factory=list)  # also the versions these labels serve
    repeats: int = Field(3, ge=1, le=20)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # pure parsing: no clock is read. Imported here: croniter costs ~140 ms (`python -X importtime`) on
        # every command that reads a config, and only repos with a revalidate schedule need it.
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron schedule (five fields: minute hour day month weekday, e.g. \"0 3 * * 1\")")
        return value


class RepoConfig(_Strict):
    prompts: PromptsConfig = Field(default_factory=PromptsConfig)
    suites: list[str] | None = None
    evals: EvalsConfig = Field(default_factory=EvalsConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    revalidate: RevalidateConfig | None = None

    @field_validator("suites")
    @classmethod
    def _suites_not_empty_strings(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not s.strip() for s in value):
            raise ValueError("suite paths must not be empty")
        return value


def parse_config(text: str | bytes | None, file: str = CONFIG_PATH) -> RepoConfig:
    """Parse the repo config; absent or empty means all defaults. Raises UserError with lines."""
    if text is None:
        return RepoConfig()
    located = load_yaml(text, file)
    if located.data is None:
        return RepoConfig()
    if not isinstance(located.data, dict):
        raise UserError(SourceError(file, "the config must be a mapping of keys (prompts, suites, evals, approval)", 1))
    try:
        return RepoConfig.model_validate(located.data)
    except ValidationError as exc:
        raise UserError(pydantic_errors(located, exc)) from None
