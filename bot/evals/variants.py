"""Per-model prompt variants, as promptfoo has them: a provider's `prompts:` list selects which of the
suite's prompts it runs. The suite's prompt files and the models each one runs on, for the comment to
group a prompt with its variants and the release manifest to serve the variant a model asks for."""

from __future__ import annotations

from bot.core.report import PromptVariant
from bot.evals.suite import Suite


def suite_variants(suite: Suite | None) -> tuple[PromptVariant, ...]:
    """The suite's prompt files with their models, when some provider selects prompts; else ()."""
    if suite is None or not any(p.prompts for p in suite.providers):
        return ()
    models: dict[str, list[str]] = {}
    for prompt in suite.prompts:
        if prompt.source is None:
            continue  # an inline prompt is no file to group or serve
        slots = models.setdefault(prompt.source, [])
        slots += [p.slot for p in suite.providers if p.runs(prompt) and p.slot not in slots]
    return tuple(PromptVariant(path, tuple(slots)) for path, slots in models.items() if slots)
