"""A test's own `provider` (promptfoo's TestCase `provider`, a test's or defaultTest's): the provider that answers
the test's cases instead of the suite's. promptfoo 0.121 (its evaluator's callActiveProvider) still runs the test
once per suite provider the test's and the providers' filters allow, renders the prompt for that provider (a prompt
function sees it), applies that provider's `transform` to the output and reports the case under it — but the
call itself goes to the test's provider, with its own config and its own code (a provider written in code, tool
callbacks, an http provider's transforms). Read like a suite's provider entry (an id, or `{id, label, config}`),
its code under the same code gate.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.checks import transform_code
from bot.evals.provider_files import with_files
from bot.evals.providers_config import parse_provider
from bot.evals.sources import Collector, request_reader
from bot.evals.suite import ProviderSpec


def parse_test_provider(tree: Any, base_dir: str, located: LocatedYaml, where: Path, value: Any,
                        errors: Collector) -> ProviderSpec | None:
    """The test's `provider` as a provider spec, or None with the problem in `errors` at its line."""
    if not isinstance(value, (str, dict)):
        errors.add(located, where, "a test's `provider` must be a provider id such as openai:chat:gpt-4o or {id, label, config}")
        return None
    spec = parse_provider(value, located, where, errors,
                          code=lambda at, code, what: transform_code(tree, base_dir, located, at, code, errors, what),
                          files=request_reader(tree, base_dir, located, errors))
    return None if spec is None else with_files(spec, tree, base_dir, located, where, errors)


def answering(column: ProviderSpec, test_provider: ProviderSpec) -> ProviderSpec:
    """The provider a case with a test `provider` calls: the test's provider with its own config and code, under
    the suite provider's (the column's) output `transform`, which promptfoo applies to whatever answered."""
    return dataclasses.replace(test_provider, transform=column.transform, prompts=())
