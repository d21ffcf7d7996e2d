"""Service settings from PROMPT_REVIEW_* environment variables, validated at start-up.

Errors name the variable and say what is wrong, never echoing secret values.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///prompt-review.db"
MAX_WEBHOOK_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


class SettingsError(Exception):
    """A start-up configuration problem; str() names the variable."""


# Where every start-up error about the App's settings points (serve, web and worker alike).
SETUP_HINT = ("create the App by running `prompt-review serve` and opening http://127.0.0.1:8000/setup, "
              "or set the variables as README: Installing on GitHub describes")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROMPT_REVIEW_", extra="ignore", frozen=True)

    app_id: int | None = Field(None, description="GitHub App id (a number)")
    private_key: str | None = Field(None, repr=False, description="GitHub App private key (PEM)")
    private_key_path: Path | None = Field(None, description="file holding the GitHub App private key (PEM)")
    webhook_secret: str | None = Field(None, repr=False)
    github_api_url: str = "https://api.github.com"
    github_timeout_seconds: float = Field(30.0, gt=0)  # per REST call; slower calls are retried or looked up
    database_url: str = DEFAULT_DATABASE_URL
    log_format: str = Field("text", pattern="^(text|json)$")
    log_level: str = "INFO"
    public_url: str | None = None  # where GitHub sends webhooks; None: /setup uses the browser's address
    credentials_path: Path = Path("prompt-review.env")
    max_webhook_bytes: int = Field(MAX_WEBHOOK_BYTES, gt=0)
    worker_concurrency: int = Field(2, ge=1, le=64)
    job_lease_seconds: float = Field(120.0, gt=0)
    # One job's deadline: past it the job is stopped, its checks fail saying so, and it is not retried
    # (a hostile suite or a model that never answers must not hold a worker, or every review behind it).
    job_timeout_seconds: float = Field(900.0, gt=0)
    job_max_attempts: int = Field(5, ge=1)
    job_retry_base_seconds: float = Field(2.0, ge=0)
    poll_interval_seconds: float = Field(0.5, gt=0)
    redeliver_interval_seconds: float = Field(600.0, ge=0)
    # Sign-in on the /ui/ pages: the App's own OAuth client (written by /setup), and the key that signs
    # session cookies (default: derived from the App's private key, so every replica agrees).
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = Field(None, repr=False)
    session_secret: str | None = Field(None, repr=False)
    # How often the service looks for repos whose `revalidate.schedule` came due (0: never; cron is per minute)
    revalidate_interval_seconds: float = Field(60.0, ge=0)
    # How often the rollout guard compares the arms of running rollouts (0: never; tests drive it by hand).
    rollout_guard_interval_seconds: float = Field(30.0, ge=0)
    # When the App is installed on a repo: record prompt versions from this many recent commits of its
    # default branch, as `prompt-review versions sync --limit N` would (0: no backfill on install).
    backfill_commits: int = Field(100, ge=0, le=1000)

    @field_validator("github_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.github.com or https://HOST/api/v3")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _key(self) -> "Settings":
        if self.private_key and self.private_key_path:
            raise ValueError("set PROMPT_REVIEW_PRIVATE_KEY or PROMPT_REVIEW_PRIVATE_KEY_PATH, not both")
        return self

    @property
    def configured(self) -> bool:
        return self.app_id is not None and self.webhook_secret is not None and self.private_key_pem() is not None

    def private_key_pem(self) -> str | None:
        if self.private_key:
            return self.private_key.replace("\\n", "\n")
        if self.private_key_path:
            try:
                return self.private_key_path.read_text()
            except OSError as exc:
                raise SettingsError(
                    f"PROMPT_REVIEW_PRIVATE_KEY_PATH: cannot read {self.private_key_path}: {exc.strerror}"
                ) from None
        return None

    @property
    def github_web_url(self) -> str:
        if self.github_api_url.rstrip("/") == "https://api.github.com":
            return "https://github.com"
        return self.github_api_url.removesuffix("/api/v3")


def load_settings(require_app: bool = True) -> Settings:
    """Read and validate settings; raise SettingsError naming the bad variable."""
    # The env file written by /setup is read on restart, so creating the App needs no manual copying.
    env_file = os.environ.get("PROMPT_REVIEW_CREDENTIALS_PATH", "prompt-review.env")
    try:
        settings = Settings(_env_file=env_file if os.path.isfile(env_file) else None)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "PROMPT_REVIEW_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(problems)) from None
    if require_app:
        missing = [
            name
            for name, value in (
                ("PROMPT_REVIEW_APP_ID", settings.app_id),
                ("PROMPT_REVIEW_WEBHOOK_SECRET", settings.webhook_secret),
                ("PROMPT_REVIEW_PRIVATE_KEY or PROMPT_REVIEW_PRIVATE_KEY_PATH", settings.private_key or settings.private_key_path),
            )
            if value is None
        ]
        if missing:
            raise SettingsError("missing " + ", ".join(missing) + f" ({SETUP_HINT})")
        _check_private_key(settings.private_key_pem())
    return settings


def _check_private_key(pem: str | None) -> None:
    try:
        load_pem_private_key((pem or "").encode(), password=None)
    except (ValueError, TypeError):
        raise SettingsError(
            "PROMPT_REVIEW_PRIVATE_KEY: not a PEM private key (expected the .pem file GitHub gave you for the App; "
            f"{SETUP_HINT})"
        ) from None
