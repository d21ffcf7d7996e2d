"""A demo app on prompt-review's SDK: the support bot answering customers, with its system prompt fetched by
label (a sticky rollout arm per customer), every model call reported with its prompt version and model, and
a task-success score per answer (checked against the support-bot's eval cases, as a product would check
thumbs-up or a resolved ticket).

    python examples/sdk-app/app.py --server http://127.0.0.1:8000 --repo acme/support-bot \\
        --token prt_read… --telemetry-token prt_write… --model-url http://127.0.0.1:8001/v1 --calls 500

Runs offline against `prompt-review serve` and the scripted model server (`python -m bot.modelserver`).
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from prompt_review_sdk import PromptClient

SYSTEM = "prompts/support/system.md"
CASES = Path(__file__).resolve().parents[1] / "support-bot" / "evals" / "support" / "cases.yaml"


@dataclass(frozen=True)
class Case:
    question: str
    must: tuple[str, ...]  # icontains
    must_not: tuple[str, ...]  # not-icontains
    patterns: tuple[str, ...] = ()  # regex


def load_cases(path: Path = CASES) -> list[Case]:
    out = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")):
        asserts = item.get("assert") or []
        if not asserts or any(a["type"] not in ("icontains", "not-icontains", "regex") for a in asserts):
            continue  # the demo checks answers the simple way only
        out.append(Case(item["vars"]["question"], tuple(a["value"].lower() for a in asserts if a["type"] == "icontains"),
                        tuple(a["value"].lower() for a in asserts if a["type"] == "not-icontains"),
                        tuple(a["value"] for a in asserts if a["type"] == "regex")))
    return out


def succeeded(case: Case, answer: str) -> bool:
    text = answer.lower()
    return (all(m in text for m in case.must) and not any(m in text for m in case.must_not)
            and all(re.search(p, answer) for p in case.patterns))


@dataclass
class Summary:
    calls: int = 0
    errors: int = 0
    served: collections.Counter = field(default_factory=collections.Counter)  # (version, arm, source) → calls
    success: collections.Counter = field(default_factory=collections.Counter)  # (version, arm) → successes
    prompts: list = field(default_factory=list)  # every Prompt served, for checking attribution


def answer_one(client: PromptClient, model: httpx.Client, case: Case, customer: str, summary: Summary,
               model_name: str = "gpt-4o-mini", label: str = "production") -> None:
    prompt = client.get(SYSTEM, label=label, unit=customer)
    summary.calls += 1
    summary.served[(prompt.version, prompt.arm, prompt.source)] += 1
    summary.prompts.append(prompt)
    started = time.perf_counter()
    try:
        response = model.post("/chat/completions", json={"model": prompt.model or model_name, "temperature": 0, "messages": [
            {"role": "system", "content": prompt.render()}, {"role": "user", "content": case.question}]})
        response.raise_for_status()
        data = response.json()
    except httpx.HTTPError as exc:
        summary.errors += 1
        client.record(prompt, latency_ms=(time.perf_counter() - started) * 1000, error=type(exc).__name__)
        return
    ok = succeeded(case, data["choices"][0]["message"]["content"])
    summary.success[(prompt.version, prompt.arm)] += ok
    usage = data.get("usage") or {}
    client.record(prompt, latency_ms=(time.perf_counter() - started) * 1000, model=data.get("model"),
                  system_fingerprint=data.get("system_fingerprint"), input_tokens=usage.get("prompt_tokens"),
                  output_tokens=usage.get("completion_tokens"), scores={"task_success": 1.0 if ok else 0.0})


def run(client: PromptClient, model_url: str, calls: int, customers: int = 1000, seed: int = 0,
        summary: Summary | None = None, label: str = "production") -> Summary:
    rng = random.Random(seed)
    cases = load_cases()
    summary = summary or Summary()
    with httpx.Client(base_url=model_url, headers={"Authorization": "Bearer sk-demo-not-real"}, timeout=30) as model:
        for _ in range(calls):
            answer_one(client, model, rng.choice(cases), f"customer-{rng.randrange(customers)}", summary, label=label)
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--token", required=True, help="a read token (manifest)")
    p.add_argument("--telemetry-token", default=None, help="a write token (telemetry)")
    p.add_argument("--model-url", required=True, help="OpenAI-compatible base URL, e.g. the scripted model server's /v1")
    p.add_argument("--label", default="production")
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--bundle", default=None)
    p.add_argument("--cache-dir", default=None)
    args = p.parse_args(argv)
    with PromptClient(args.server, args.token, repo=args.repo, telemetry_token=args.telemetry_token, bundle=args.bundle,
                      cache_dir=args.cache_dir) as client:
        summary = run(client, args.model_url, args.calls, label=args.label)
        client.flush()
    for (version, arm, source), n in sorted(summary.served.items(), key=lambda kv: -kv[1]):
        print(f"{version} arm={arm or '-'} from {source}: {n} calls")
    for (version, arm), ok in sorted(summary.success.items()):
        served = sum(n for (v, a, _s), n in summary.served.items() if (v, a) == (version, arm))
        print(f"task_success {version} arm={arm or '-'}: {ok / max(1, served):.2f}")
    print(f"{summary.calls} calls, {summary.errors} errors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
