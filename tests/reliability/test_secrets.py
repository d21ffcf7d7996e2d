"""Secrets never reach a PR: the webhook secret, the App's private key, installation tokens and
the model provider's API key are absent from comments, check-run outputs and the service's logs,
even when a provider echoes the key back in an error."""

from __future__ import annotations

import logging

import httpx

from tests.reliability.common import BAD_PROMPT, REPO, all_runs, bot_comments, tiny_stack
from tests.service.harness import SECRET

MODEL_KEY = "sk-proj-Zq8vT1xY7wK3mN5pR2sU4bC6dE9fG0hJ"


def key_body_lines(pem: bytes) -> list[str]:
    return [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]


def test_no_secret_appears_in_comments_check_outputs_or_logs(tmp_path, model, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with tiny_stack(tmp_path, model.url) as s:
        s.service.env["OPENAI_API_KEY"] = MODEL_KEY
        for w in s.service.workers:
            w.env["OPENAI_API_KEY"] = MODEL_KEY
        # A provider that echoes the key it was given, as OpenAI's 401 does.
        httpx.post(model.url + "/_control/faults", json={
            "status": 401, "count": 6, "message": f"Incorrect API key provided: {MODEL_KEY}."}).raise_for_status()
        s.sim.add_fault(r"/check-runs/\d+$", method="PATCH", status=502, times=1)
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        s.wait_idle()
        tokens = list(s.sim.tokens)
        assert tokens, "no installation token was minted, so the scan below proves nothing"
        published = [c.body for c in bot_comments(s.sim, pr.number)]
        published += [f"{r.title}\n{r.summary}\n{r.text or ''}" for r in all_runs(s.sim)]
    # The 401 was reported as such; its body (which echoes the key) is never shown.
    assert any("the provider refused the credentials" in text for text in published)
    logged = caplog.text + "\n".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info)
    out, err = capfd.readouterr()
    pem = s.sim.private_key_pem
    needles = {"webhook secret": SECRET, "model API key": MODEL_KEY, **{f"token {t[:8]}": t for t in tokens},
               **{f"private key line {i}": line for i, line in enumerate(key_body_lines(pem))}}
    for where, text in (("published", "\n".join(published)), ("logs", logged + out + err)):
        leaked = [name for name, needle in needles.items() if needle in text]
        assert leaked == [], f"{where} contain: {leaked}"
