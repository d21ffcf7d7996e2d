"""`azure:foundry-agent:AGENT` stays refused, saying why: in promptfoo 0.121 it is not the Assistants API (threads
and runs, which prompt-review speaks) but an agent lookup with the Azure AI Projects v2 SDK and a Responses API call
with an `agent_reference`, signed in by DefaultAzureCredential (the machine's Azure login, not a key)."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite

PATH = "evals/promptfooconfig.yaml"


def test_a_foundry_agent_is_refused_at_its_line_naming_what_promptfoo_calls():
    text = ("prompts: ['{{question}}']\nproviders:\n  - id: azure:foundry-agent:asst_abc\n"
            "    config: {projectUrl: 'project.services.ai.azure.com/api/projects/p'}\ntests:\n  - vars: {question: hi}\n")
    _, errors = load_suite(MemoryTree({PATH: text}), PATH)
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [(3, "unsupported")]
    assert "provider 'azure:foundry-agent:asst_abc': an Azure AI Foundry agent is not an Assistants API provider" in errors[0].message
    assert "Responses API with an agent_reference" in errors[0].message and "DefaultAzureCredential" in errors[0].message
