"""A review parses each suite once per side and check-config parses the config once: what is under
review, the eval run and the explanation read the same parsed suites (issue 17)."""

from __future__ import annotations

from collections import Counter

import bot.checkconfig as checkconfig
import bot.evals.loaded as loaded_module
from bot.evals import MemoryCache
from bot.pipeline.stages import Context, review
from bot.review import build_input
from tests.gate.conftest import WEAK, prompt_text


def _count_suite_parses(monkeypatch) -> Counter:
    parses: Counter = Counter()
    real = loaded_module.read_suite

    def counting(tree, path, limits=None, **kw):
        parses[(getattr(tree, "sha", None) or id(tree), path)] += 1
        return real(tree, path, limits, **kw)

    monkeypatch.setattr(loaded_module, "read_suite", counting)
    return parses


def test_a_review_parses_each_suite_once_per_side(gate_repo, model_url, monkeypatch):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)}, "weaken the rule")
    parses = _count_suite_parses(monkeypatch)
    inp = build_input(str(gate_repo.root), "HEAD~1..HEAD")
    ctx = Context(env={"OPENAI_BASE_URL": model_url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"},
                  cache=MemoryCache(), with_approval=False)
    result = review(inp, ctx)
    assert result.evals is not None and result.evals.verdict.blocking  # evals and the explanation ran
    assert result.explanation is not None
    # base once, head once (the explanation's reverted heads are other trees, parsed once each)
    assert parses[(inp.base_sha, "evals/promptfooconfig.yaml")] == 1, parses
    assert parses[(inp.head_sha, "evals/promptfooconfig.yaml")] == 1, parses


def test_check_config_parses_the_config_and_each_suite_once(gate_repo, monkeypatch, capsys):
    parses = _count_suite_parses(monkeypatch)
    configs = []
    real_parse_config = checkconfig.parse_config
    monkeypatch.setattr(checkconfig, "parse_config", lambda *a, **kw: configs.append(a) or real_parse_config(*a, **kw))
    assert checkconfig.check_config_command(str(gate_repo.root)) == 0
    out = capsys.readouterr().out
    assert "evals/promptfooconfig.yaml: suite" in out and "prompts/support.txt" in out  # the under-review list
    assert len(configs) == 1
    assert list(parses.values()) == [1]
