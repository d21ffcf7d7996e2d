"""The top-level keys of a suite file against promptfoo 0.121.20's own config schema (pinned in
tests/compat/data/top_level_keys.json by bench/top_keys_oracle.mjs): every key promptfoo defines is read here
(as-is, without effect, or refused with its reason), and a key promptfoo drops unread is a warning here — but a
near miss of a defined key or a test's key, which stays an error so that no test or check is dropped unseen."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.files import MemoryTree
from bot.evals.loader import read_suite
from bot.evals.suite_models import SuiteFile

PINNED = json.loads((Path(__file__).parent / "data" / "top_level_keys.json").read_text())
PATH = "evals/promptfooconfig.yaml"
SUITE = "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: hi}\n"
# promptfoo drops these too, but the suite reaches them: `$schema` names the editor's schema, `$ref` reads `assertionTemplates`
READ_OUTSIDE_ITS_SCHEMA = {"$schema", "assertionTemplates"}
STAY_ERRORS = {"test": "did you mean 'tests'?", "prompt": "did you mean 'prompts'?", "provider": "did you mean 'providers'?",
               "defaultTests": "did you mean 'defaultTest'?", "assert": "a test's key", "vars": "a test's key",
               "options": "a test's key", "threshold": "a test's key"}


def test_every_key_promptfoo_defines_is_a_key_of_the_suite_model_and_no_other():
    assert PINNED["promptfoo"] == "0.121.20"
    assert set(SuiteFile.keys()) == set(PINNED["defined"]) | READ_OUTSIDE_ITS_SCHEMA


def test_a_key_promptfoo_drops_is_a_warning_unless_dropping_it_would_hide_tests_or_checks():
    dropped = [key for key, read in PINNED["probed"].items() if read["valid"] and not read["kept"]]
    assert {"x-chunk-config", "version", "columns", "passRateThreshold", "maxConcurrency", "envPath"} <= set(dropped)
    for key in dropped:
        found = read_suite(MemoryTree({PATH: SUITE + f"{json.dumps(key)}: v\n"}), PATH)
        if key in READ_OUTSIDE_ITS_SCHEMA:
            assert found.errors == () and found.warnings == (), key
        elif key in STAY_ERRORS:
            assert found.suite is None and found.warnings == (), key
            assert [(e.line, STAY_ERRORS[key] in e.message) for e in found.errors] == [(5, True)], found.errors
        else:
            assert found.errors == () and found.suite is not None, (key, found.errors)
            assert [(w.line, w.message.startswith(f"ignored key {key!r}")) for w in found.warnings] == [(5, True)], key
