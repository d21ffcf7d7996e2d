"""GitHub timing out: a call slower than PROMPT_REVIEW_GITHUB_TIMEOUT_SECONDS is retried when
repeating it is harmless, and a create that timed out (which GitHub still applies, as the
simulator does after its delay) is looked up instead of posted twice."""

from __future__ import annotations

import pytest

from bot.service.run import build_service
from bot.settings import SettingsError, load_settings
from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, REPO, assert_nothing_left_in_progress,
                                      bot_comments, runs_by_name, tiny_stack)

TIMEOUT = 0.5
DELAY = 2.0  # four times the client's timeout: the client gives up, the simulator still applies the call
CHECK_CREATE = r"/check-runs$"
CHECK_UPDATE = r"/check-runs/\d+$"
COMMENT_CREATE = r"/issues/\d+/comments$"

SLOW_CALLS = {
    "GET pull files": ("GET", r"/pulls/\d+/files$"),
    "POST check run": ("POST", CHECK_CREATE),
    "POST issue comment": ("POST", COMMENT_CREATE),
    "PATCH check run": ("PATCH", CHECK_UPDATE),
}


@pytest.mark.parametrize("method,path", list(SLOW_CALLS.values()), ids=list(SLOW_CALLS))
def test_a_github_call_that_times_out_still_ends_in_one_comment_and_two_completed_check_runs(tmp_path, model, method, path):
    with tiny_stack(tmp_path, model.url, github_timeout_seconds=TIMEOUT) as s:
        fault = s.sim.add_fault(path, method=method, delay=DELAY, times=1)
        pr = s.sim.open_pull(REPO, "bad", {"prompts/greet.txt": BAD_PROMPT}, "Bad", "dave")
        s.wait_idle()
        s.sim.wait_for_delayed()  # the slow call has landed too, as it would on GitHub
        assert fault.hits == 1, "the slow call was never made, so this test proves nothing"

        runs = runs_by_name(s.sim, pr.head_sha)
        assert len(s.sim.check_runs(REPO, pr.head_sha)) == 2
        assert set(runs) == {EVALS_CHECK, APPROVAL_CHECK}
        assert runs[EVALS_CHECK].conclusion == "failure"  # the regression is still reported
        assert len(bot_comments(s.sim, pr.number)) == 1
        assert_nothing_left_in_progress(s.sim)
        # Creates that timed out were found, not posted again: one POST per object, the slow one included.
        assert len(s.sim.calls_to("POST", CHECK_CREATE)) == 2
        assert len(s.sim.calls_to("POST", COMMENT_CREATE)) == 1


def test_the_github_timeout_setting_reaches_the_github_client(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no prompt-review.env from the working directory
    monkeypatch.setenv("PROMPT_REVIEW_GITHUB_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("PROMPT_REVIEW_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("PROMPT_REVIEW_APP_ID", "1")
    monkeypatch.setenv("PROMPT_REVIEW_PRIVATE_KEY", "not used before the first call")
    settings = load_settings(require_app=False)
    assert settings.github_timeout_seconds == 2.5
    service = build_service(settings, env={})
    try:
        assert service.github is not None and service.github.timeout == 2.5
    finally:
        service.github.close()
        service.engine.dispose()


def test_the_github_timeout_defaults_to_30_seconds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROMPT_REVIEW_GITHUB_TIMEOUT_SECONDS", raising=False)
    assert load_settings(require_app=False).github_timeout_seconds == 30


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_github_timeout_that_is_not_a_positive_number_is_refused_naming_the_variable(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMPT_REVIEW_GITHUB_TIMEOUT_SECONDS", value)
    with pytest.raises(SettingsError, match=r"^PROMPT_REVIEW_GITHUB_TIMEOUT_SECONDS: "):
        load_settings(require_app=False)
