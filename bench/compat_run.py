"""Do the promptfoo configs that load also *run*? Each config that `compat_examples.py` loads is reviewed
as a PR that adds it (every case new), against the scripted model server, which speaks every vendor's
wire format: every vendor's base URL and credentials point at it. Prints one line per config (cases,
passed, failed, errors and the commonest error) and the totals, with the errors grouped by cause.

    .venv/bin/python bench/compat_run.py PATH/TO/promptfoo/examples [--max-calls N]
    .venv/bin/python bench/compat_run.py --repos PATH/TO/gathered-repositories   # each top folder a repository

The verdicts say nothing (the scripted model answers by its rules, not as the real model would); what
counts is that every case is read, sent and judged: a case error here is a provider the scripted
server cannot stand in for (the team's own `http` endpoint, a vendor's non-chat API), code that needs
the network or a package, or a bug. A config that raises is a crash.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.compat_examples import configs_under, repository_for
from bot.checkconfig import check_tree
from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.providers_config import VENDORS
from bot.modelserver import create_app
from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET
from bot.pipeline.trees import DirTree
from bot.serving import start_in_thread

KEY = "scripted-key"
# Vendors whose operator base URL names the API root the scripted server serves under /v1.
_UNDER_V1 = {"openai", "replicate", "voyage", "litellm", "localai"}


def scripted_env(url: str) -> dict[str, str]:
    """Every vendor's operator base URL and credentials, pointing at the scripted model server."""
    env = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET,
           "PROMPT_REVIEW_ALLOWED_MODEL_URLS": url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1",
           "GOOGLE_CLOUD_PROJECT": "bench-project", "WATSONX_AI_PROJECT_ID": "bench-project", "WATSONX_IAM_URL": url}
    for name, vendor in VENDORS.items():
        if not vendor.base_env:
            continue
        compatible = vendor.wire == "openai" and vendor.default_base is not None  # a public OpenAI-compatible API
        env[vendor.base_env] = f"{url}/v1" if name in _UNDER_V1 or compatible else f"{url}/fal" if name == "fal" else url
        for key in vendor.key_env[:1]:
            env[key] = KEY
    env["HUGGINGFACE_BASE_URL"] = f"{url}/hf"  # the scripted server's Inference API (its models under /hf/MODEL)
    return env


_NUMBERS = re.compile(r"\d+")


def cause(error: str) -> str:
    """An error's words without its particulars, to group the errors of many cases."""
    return _NUMBERS.sub("N", error.split("\n", 1)[0])[:110]


def main(root: Path, max_calls: int, repos: bool = False) -> int:
    """With `repos`, each folder at the top of `root` is a repository, copied whole (as compat_examples.py --repos)."""
    server = start_in_thread(create_app(api_key=KEY))
    env = scripted_env(server.url)
    totals: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    try:
        for config in configs_under(root):
            with tempfile.TemporaryDirectory() as tmp:
                repo, suite = repository_for(root, config, Path(tmp), repos)
                errors, _ = check_tree(DirTree(str(repo)))
                if errors:
                    continue
                totals["configs"] += 1
                request = EvalRequest(base=MemoryTree({}), head=DirTree(str(repo)), suites=[suite], env=env,
                                      config=EvalsConfig(budget=Budget(max_calls=max_calls, max_usd=1e6), explain=False))
                try:
                    report = asyncio.run(run_evals(request, NoCache()))
                except Exception as exc:  # noqa: BLE001 - a crash is what this counts
                    totals["crash"] += 1
                    print(f"CRASH  {config.relative_to(root)}: {type(exc).__name__}: {str(exc)[:150]}")
                    continue
            cases = report.cases()
            failed_to_run = [c for c in cases if c.head is None or c.head.error]
            passed = sum(1 for c in cases if c.head is not None and not c.head.error and c.head.passed)
            words = Counter(cause(c.head.error if c.head and c.head.error else c.status.value) for c in failed_to_run)
            causes.update(words)
            suite_errors = [str(e) for e in report.errors]
            totals["cases"] += len(cases)
            totals["passed"] += passed
            totals["errors"] += len(failed_to_run)
            totals["configs with errors"] += bool(failed_to_run or suite_errors)
            totals["configs all run"] += not failed_to_run and not suite_errors
            line = f"{'ran' if not failed_to_run else 'errs':6} {config.relative_to(root)}: {len(cases)} cases, {passed} passed"
            if failed_to_run:
                line += f", {len(failed_to_run)} errors, e.g. {words.most_common(1)[0][0]}"
            if suite_errors:
                line += f"; suite errors: {suite_errors[0][:120]}"
            print(line)
    finally:
        server.stop()
    print(f"\n{totals['configs']} configs load; {totals['configs all run']} run every case, {totals['configs with errors']} have "
          f"errors; {totals['crash']} crash. {totals['cases']} cases: {totals['passed']} passed, {totals['errors']} could not run.")
    print("errors by cause:")
    for words, n in causes.most_common(25):
        print(f"  {n:5}  {words}")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    limit = 2000
    if "--max-calls" in args:
        i = args.index("--max-calls")
        limit = int(args[i + 1])
        del args[i:i + 2]
    repos = "--repos" in args
    args = [a for a in args if a != "--repos"]
    sys.exit(main(Path(args[0] if args else "."), limit, repos))
