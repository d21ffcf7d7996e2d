"""prompt-review side by side with `promptfoo eval`: same suites, same scripted model server, same
concurrency. Prints per-case verdict agreement, wall time and model-call counts (full run, and a PR
that changes one prompt of several). Installs promptfoo from npm into a cache outside the repo.

Run: .venv/bin/python bench/vs_promptfoo.py [--latency-ms 50 --concurrency 8 --promptfoo-version 0.121.20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalReport, EvalRequest, MemoryCache, NoCache, ResultCache, run_evals
from bot.modelserver import create_app
from bot.serving import start_in_thread

ROOT = Path(__file__).resolve().parents[1]
# The newest promptfoo whose package.json accepts Node 20 (0.122+ require Node >= 22.22).
PROMPTFOO_VERSION = "0.121.20"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "prompt-review-bench"


@dataclass(frozen=True)
class BenchSuite:
    name: str
    root: Path  # repository root the suite lives in
    suite: str  # suite path inside root
    pr: Path  # overlay directory (paths relative to root) that simulates the PR
    skip: tuple[str, ...]  # top-level dirs of root that are not part of the repository


SUITES = (
    BenchSuite("support-bot", ROOT / "examples/support-bot", "evals/support/promptfooconfig.yaml",
               ROOT / "examples/support-bot/pulls/friendlier", ("pulls",)),
    BenchSuite("chat-json", ROOT / "bench/suites/chat-json", "promptfooconfig.yaml", ROOT / "bench/suites/chat-json/pr", ("pr",)),
    BenchSuite("assertions", ROOT / "bench/suites/assertions", "promptfooconfig.yaml", ROOT / "bench/suites/assertions/pr", ("pr",)),
    # javascript/python assertions and transforms, run in prompt-review's sandbox and in promptfoo's node/python
    BenchSuite("code", ROOT / "bench/suites/code", "promptfooconfig.yaml", ROOT / "bench/suites/code/pr", ("pr",)),
    # is-sql/contains-sql, select-best and max-score across the two prompts, conversation-relevance (the scripted grader)
    BenchSuite("compare", ROOT / "bench/suites/compare", "promptfooconfig.yaml", ROOT / "bench/suites/compare/pr", ("pr",)),
    # options.storeOutputAs: later tests read earlier outputs (both tools run the suite in order)
    BenchSuite("chain", ROOT / "bench/suites/chain", "promptfooconfig.yaml", ROOT / "bench/suites/chain/pr", ("pr",)),
    # chat content parts: image var files as base64 data: URLs; the scripted model names each image it saw
    BenchSuite("vision", ROOT / "bench/suites/vision", "promptfooconfig.yaml", ROOT / "bench/suites/vision/pr", ("pr",)),
    # tool calls (OpenAI tool_calls, Claude tool_use): text checks on their compact JSON, code on the array, is-valid-openai-tools-call
    BenchSuite("tools", ROOT / "bench/suites/tools", "promptfooconfig.yaml", ROOT / "bench/suites/tools/pr", ("pr",)),
    # bleu, gleu, rouge-n and word-count (bot.evals.metrics): scores on promptfoo's tokenisation and thresholds
    BenchSuite("metrics", ROOT / "bench/suites/metrics", "promptfooconfig.yaml", ROOT / "bench/suites/metrics/pr", ("pr",)),
    # is-xml/contains-xml with required elements, is-html/contains-html, is-refusal and their not- forms
    BenchSuite("markup", ROOT / "bench/suites/markup", "promptfooconfig.yaml", ROOT / "bench/suites/markup/pr", ("pr",)),
    # llm-rubric (thresholds, a custom rubricPrompt), factuality (category scores), model-graded-closedqa, g-eval,
    # answer-relevance and context-recall/-relevance/-faithfulness in steps: each tool's own grader prompts, judged by
    # the scripted grader
    BenchSuite("graded", ROOT / "bench/suites/graded", "promptfooconfig.yaml", ROOT / "bench/suites/graded/pr", ("pr",)),
    # functionToolCallbacks on OpenAI tool calls (inline, by file, several calls, a throw) and assertScoringFunction
    # (JavaScript, Python, a throw, a threshold), run in prompt-review's sandbox and in promptfoo's node/python
    BenchSuite("callbacks", ROOT / "bench/suites/callbacks", "promptfooconfig.yaml", ROOT / "bench/suites/callbacks/pr", ("pr",)),
    # a Bedrock knowledge base (RetrieveAndGenerate) and contextTransform reading its citations on the context-* types
    BenchSuite("rag", ROOT / "bench/suites/rag", "promptfooconfig.yaml", ROOT / "bench/suites/rag/pr", ("pr",)),
    # classifier / not-classifier (Hugging Face text- and token-classification graders) and similar by a sentence-similarity
    # model; the graders' apiEndpoint names SERVER_PLACEHOLDER, replaced by the scripted server's address for both tools
    BenchSuite("classifier", ROOT / "bench/suites/classifier", "promptfooconfig.yaml", ROOT / "bench/suites/classifier/pr", ("pr",)),
    # extensions: a Python hook for every hook and a JavaScript beforeEach hook; beforeAll adds a test and a default
    # assertion, beforeEach rewrites vars and assertions (run while prompt-review loads the suite)
    BenchSuite("hooks", ROOT / "bench/suites/hooks", "promptfooconfig.yaml", ROOT / "bench/suites/hooks/pr", ("pr",)),
    # assert-set (thresholds, weights, metrics, an empty set), similar:cosine/dot/euclidean, tool-call-f1 and
    # perplexity/perplexity-score on the scripted model's token log-probabilities (asked for by config passthrough)
    BenchSuite("asserts-more", ROOT / "bench/suites/asserts-more", "promptfooconfig.yaml", ROOT / "bench/suites/asserts-more/pr", ("pr",)),
    # Python providers calling the model with openai (sync, async, responses), anthropic, requests, httpx and urllib, and a provider's config
    # file:// settings: promptfoo runs them with the real libraries (PROVIDER_LIBRARIES, in a venv of their own),
    # prompt-review with its sandbox's modules over the network bridge
    BenchSuite("pyproviders", ROOT / "bench/suites/pyproviders", "promptfooconfig.yaml", ROOT / "bench/suites/pyproviders/pr", ("pr",)),
    # code that reads the repository's files: TypeScript and Python generators over a folder of records and a CSV, prompt
    # functions loading the app's prompt and a template, a hook resolving fixtures; the PR rewords the app's prompt
    BenchSuite("files", ROOT / "bench/suites/files", "promptfooconfig.yaml", ROOT / "bench/suites/files/pr", ("pr",)),
    # code that reads the repository's files as its case runs: a JavaScript provider loading the skill it ships, a Python
    # provider replaying a recording, JavaScript and Python assertions reading expected answers; the PR changes a skill
    # and an expected answer
    BenchSuite("case-reads", ROOT / "bench/suites/case-reads", "promptfooconfig.yaml", ROOT / "bench/suites/case-reads/pr", ("pr",)),
    # the repository's own packages: a prompt function requiring the app's prompt package by name, a `package:` provider,
    # a Python assertion loading YAML with PyYAML, an apiKey named as {{ env.NAME }}, a suite env setting; the PR edits
    # the package's policy
    BenchSuite("packages", ROOT / "bench/suites/packages", "promptfooconfig.yaml", ROOT / "bench/suites/packages/pr", ("pr",)),
)
# a suite that must name the scripted server itself (promptfoo's Hugging Face graders read no base URL from the environment)
SERVER_PLACEHOLDER = b"http://scripted-server.invalid"
BENCH_AWS = {"AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-west-2"}  # signs; nothing checks it


def on_server(files: dict[str, bytes], url: str) -> dict[str, bytes]:
    return {path: data.replace(SERVER_PLACEHOLDER, url.encode()) for path, data in files.items()}


def tree_files(s: BenchSuite, with_pr: bool) -> dict[str, bytes]:
    files = {
        p.relative_to(s.root).as_posix(): p.read_bytes()
        for p in s.root.rglob("*")
        if p.is_file() and p.relative_to(s.root).parts[0] not in s.skip and "__pycache__" not in p.parts
    }
    if with_pr:
        files.update({p.relative_to(s.pr).as_posix(): p.read_bytes() for p in s.pr.rglob("*") if p.is_file() and p.name != "pr.json"})
    return files


def case_key(description: str, prompt: str, provider: str, vars_: dict) -> str:
    # file:// vars (prompt text passed in) are loaded differently by the two tools; leave them out
    shown = {k: v for k, v in sorted(vars_.items()) if not (isinstance(v, str) and (v.startswith("file://") or len(v) > 200))}
    return f"{description} | {prompt} | {provider} | {json.dumps(shown, sort_keys=True, default=str)}"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    output: str
    why: str


# ---- the model server ------------------------------------------------------------------------


class Server:
    def __init__(self, latency_ms: float) -> None:
        self.running = start_in_thread(create_app(latency_ms=latency_ms))
        self.url = self.running.url

    def reset(self) -> None:
        httpx.post(f"{self.url}/_control/reset").raise_for_status()

    def requests(self) -> int:
        return int(httpx.get(f"{self.url}/_control/stats").json()["requests"])


# ---- prompt-review ----------------------------------------------------------------------------


def run_ours(server: Server, s: BenchSuite, base: dict[str, bytes], head: dict[str, bytes], cache: ResultCache, concurrency: int) -> tuple[EvalReport, float, int]:
    config = EvalsConfig(concurrency=concurrency, budget=Budget(max_calls=100_000, max_usd=1000.0))
    env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "bench", "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "bench",
           "BEDROCK_AGENT_RUNTIME_BASE_URL": server.url, "AWS_BEARER_TOKEN_BEDROCK": "bench",
           "HUGGINGFACE_BASE_URL": f"{server.url}/hf",  # the operator's Hugging Face base: a suite's apiEndpoint under it is trusted
           "SAGEMAKER_BASE_URL": server.url, **BENCH_AWS}
    request = EvalRequest(base=MemoryTree(base), head=MemoryTree(head), config=config, suites=[s.suite], env=env)
    server.reset()
    started = time.monotonic()
    report = asyncio.run(run_evals(request, cache))
    return report, time.monotonic() - started, server.requests()


def our_verdicts(report: EvalReport) -> dict[str, Verdict]:
    if report.errors:
        raise SystemExit("prompt-review refused the suite:\n" + "\n".join(str(e) for e in report.errors))
    out = {}
    for c in report.cases():
        if c.head is None:
            continue
        why = c.head.error or "; ".join(c.head.failed_assertions)
        out[case_key(c.description, c.prompt_label, c.provider_id, dict(c.vars))] = Verdict(c.head.passed and not c.head.error, c.head.output, why)
    return out


# ---- promptfoo --------------------------------------------------------------------------------


def install_promptfoo(version: str) -> Path:
    target = CACHE / f"promptfoo-{version}"
    binary = target / "node_modules" / ".bin" / "promptfoo"
    if binary.exists():
        return binary
    target.mkdir(parents=True, exist_ok=True)
    (target / "package.json").write_text('{"private": true}\n')
    print(f"installing promptfoo@{version} into {target} (npm) ...", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"promptfoo@{version}"], cwd=target, check=True)
    return binary


# the libraries promptfoo's Python providers import in the pyproviders suite: installed from PyPI into a venv of their own
PROVIDER_LIBRARIES = ("openai>=1.40,<2", "anthropic>=0.34", "requests>=2.31", "httpx>=0.27", "pyyaml>=6.0")


def provider_python() -> Path:
    """A Python with PROVIDER_LIBRARIES for promptfoo's Python providers and assertions (PROMPTFOO_PYTHON)."""
    venv = CACHE / "provider-python"
    python = venv / "bin" / "python"
    wanted = "\n".join(PROVIDER_LIBRARIES) + "\n"
    if not (venv / ".installed").exists() or (venv / ".installed").read_text() != wanted:
        print(f"installing {', '.join(PROVIDER_LIBRARIES)} into {venv} (pip) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PROVIDER_LIBRARIES], check=True)
        (venv / ".installed").write_text(wanted)
    return python


REDIRECT_PRELOAD = """
const original = globalThis.fetch;
globalThis.fetch = function (input, init) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (typeof url === 'string' && url.startsWith('https://api.openai.com/v1/') && process.env.OPENAI_BASE_URL) {
    const moved = process.env.OPENAI_BASE_URL.replace(/\\/$/, '') + url.slice('https://api.openai.com/v1'.length);
    return original.call(this, typeof input === 'string' || input instanceof URL ? moved : new Request(moved, input), init);
  }
  return original.call(this, input, init);
};
"""


def run_promptfoo(binary: Path, server: Server, files: dict[str, bytes], suite: str, concurrency: int, home: Path,
                  extra_env: dict[str, str] | None = None) -> tuple[dict, float, int]:
    """extra_env: more vendors' settings (bench/compat_parity.py points them at the server too)."""
    with tempfile.TemporaryDirectory(prefix="pf-suite-") as tmp:
        for rel, data in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_bytes(data)
        out = Path(tmp) / "out.json"
        if not (Path(tmp) / "node_modules").exists():  # a suite's code may require('promptfoo') (its fetchWithCache, …)
            (Path(tmp) / "node_modules").mkdir()
            (Path(tmp) / "node_modules" / "promptfoo").symlink_to(binary.parent.parent / "promptfoo", target_is_directory=True)
        # a suite's code may call a vendor's public URL itself (promptfoo's custom-provider example calls
        # api.openai.com): prompt-review's bridge sends such a call to the vendor's base URL; for promptfoo, a preload
        # rewrites the host of Node's fetch to the scripted server, so both reach it
        preload = Path(tmp) / ".bench-redirect.cjs"
        preload.write_text(REDIRECT_PRELOAD)
        env = {
            **os.environ,
            "NODE_OPTIONS": f"--require {preload}",
            "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1",
            "PROMPTFOO_DISABLE_SHARING": "1",
            "PROMPTFOO_CONFIG_DIR": str(home),
            "OPENAI_BASE_URL": f"{server.url}/v1",
            "OPENAI_API_BASE_URL": f"{server.url}/v1",
            "OPENAI_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "bench",
            # the AWS SDK's endpoint for the knowledge base; a Bedrock API key makes promptfoo use HTTP/1.1 with it (its
            # bearer header replaces the signature; the SDK still wants credentials to sign with first)
            "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": server.url,
            "AWS_BEARER_TOKEN_BEDROCK": "bench",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url,  # the AWS SDK's endpoint for SageMaker's runtime
            "PROMPTFOO_PYTHON": str(provider_python()),
            **BENCH_AWS,
            **(extra_env or {}),
        }
        # with extensions, promptfoo reads the results back from its database for afterAll, so under --no-write
        # its output file holds none: such a suite writes to the throwaway PROMPTFOO_CONFIG_DIR instead
        keep = [] if b"\nextensions:" in files.get(suite, b"") else ["--no-write"]
        cmd = [str(binary), "eval", "-c", str(Path(tmp) / suite), "--max-concurrency", str(concurrency), "--no-cache",
               "--no-table", "--no-progress-bar", *keep, "-o", str(out)]
        server.reset()
        started = time.monotonic()
        # from the suite's folder, as prompt-review runs its code (process.cwd()) and as a team runs `cd evals && promptfoo eval`
        proc = subprocess.run(cmd, cwd=(Path(tmp) / suite).parent, env=env, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - started
        calls = server.requests()
        if not out.exists():
            raise SystemExit(f"promptfoo wrote no results (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return json.loads(out.read_text()), wall, calls


def promptfoo_verdicts(data: dict) -> dict[str, Verdict]:
    out = {}
    for r in data["results"]["results"]:
        test = r.get("testCase") or {}
        prompt = r.get("prompt") or {}
        provider = r.get("provider") or {}
        output = (r.get("response") or {}).get("output")
        output = output if isinstance(output, str) else json.dumps(output)
        why = r.get("error") or (r.get("gradingResult") or {}).get("reason") or ""
        # a text-file prompt's label comes back as 'LABEL: /path/to/file: text'
        label = str(prompt.get("label", "")).split(": ", 1)[0]
        # the test's own vars (r["vars"] are after transformVars)
        key = case_key(test.get("description") or r.get("description") or "", label, provider.get("id", ""), test.get("vars") or r.get("vars") or {})
        out[key] = Verdict(bool(r.get("success")), output or "", why if not r.get("success") else "")
    return out


# ---- report -----------------------------------------------------------------------------------


def _rekey(ours: dict[str, Verdict], theirs: dict[str, Verdict]) -> dict[str, Verdict]:
    """promptfoo reports a test's vars after transformVars and with JSON-looking strings parsed: a case
    left unmatched is matched by description, prompt and provider when that is unique on both sides."""
    def stem(key: str) -> str:
        return key.rsplit(" | ", 1)[0]

    lost = [k for k in theirs if k not in ours]
    mine = [k for k in ours if k not in theirs]
    out = dict(theirs)
    for k in lost:
        same = [m for m in mine if stem(m) == stem(k)]
        if len(same) == 1 and sum(stem(x) == stem(k) for x in lost) == 1:
            out[same[0]] = out.pop(k)
    return out


def compare(name: str, ours: dict[str, Verdict], theirs: dict[str, Verdict], subset: bool = False) -> list[str]:
    """subset: ours holds only the affected cases of a PR, so promptfoo's other cases are not listed."""
    lines = []
    theirs = _rekey(ours, theirs)
    if subset:
        theirs = {k: v for k, v in theirs.items() if k in ours}
    both = ours.keys() & theirs.keys()
    differ = sorted(k for k in both if ours[k].passed != theirs[k].passed)
    agree = len(both) - len(differ)
    lines.append(f"{name:12s} cases ours {len(ours)} / promptfoo {len(theirs)} · matched {len(both)} · verdicts agree {agree}/{len(both)}"
                 f" · passing ours {sum(v.passed for v in ours.values())} / promptfoo {sum(v.passed for v in theirs.values())}")
    for k in sorted(ours.keys() - theirs.keys())[:5]:
        lines.append(f"  only in prompt-review: {k}")
    for k in sorted(theirs.keys() - ours.keys())[:5]:
        lines.append(f"  only in promptfoo:     {k}")
    for k in differ:
        o, t = ours[k], theirs[k]
        lines.append(f"  DIFFERS {k}\n    prompt-review {'pass' if o.passed else 'fail'}: {o.output[:160]!r} {o.why[:200]}\n"
                     f"    promptfoo     {'pass' if t.passed else 'fail'}: {t.output[:160]!r} {t.why[:200]}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--promptfoo-version", default=PROMPTFOO_VERSION)
    parser.add_argument("--suite", action="append", help="only these suites (names: " + ", ".join(s.name for s in SUITES) + ")")
    args = parser.parse_args()
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("promptfoo needs node and npm on PATH")
    binary = install_promptfoo(args.promptfoo_version)
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             env={**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1"}).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    suites = [s for s in SUITES if not args.suite or s.name in args.suite]
    server = Server(args.latency_ms)
    agreement: list[str] = []
    timing: list[str] = []
    pr_lines: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="pf-home-") as home:
            for s in suites:
                base, head = on_server(tree_files(s, False), server.url), on_server(tree_files(s, True), server.url)
                cache = MemoryCache()  # the service's result cache; a full run on main fills it
                report, our_wall, our_calls = run_ours(server, s, {}, base, cache, args.concurrency)
                data, pf_wall, pf_calls = run_promptfoo(binary, server, base, s.suite, args.concurrency, Path(home))
                agreement += compare(s.name, our_verdicts(report), promptfoo_verdicts(data))
                timing.append(f"{s.name:12s} full run: prompt-review {our_wall:6.2f} s, {our_calls:4d} calls · promptfoo {pf_wall:6.2f} s, {pf_calls:4d} calls")
                # PR changing one prompt: prompt-review runs the affected cases on base and head
                _, _, cold = run_ours(server, s, base, head, NoCache(), args.concurrency)
                pr_report, pr_wall, warm = run_ours(server, s, base, head, cache, args.concurrency)
                head_data, _, pf_head = run_promptfoo(binary, server, head, s.suite, args.concurrency, Path(home))
                agreement += compare(f"{s.name} PR head", our_verdicts(pr_report), promptfoo_verdicts(head_data), subset=True)
                pr_lines.append(
                    f"{s.name:12s} PR: affected {pr_report.stats.cases_run} of {pr_report.stats.cases_run + pr_report.stats.cases_unaffected} cases"
                    f" · prompt-review {cold} calls (no cache), {warm} calls (base cached from main) · promptfoo {pf_calls + pf_head} calls"
                    f" (base + head, --no-cache), {pf_head} (head only)"
                )
    finally:
        server.running.stop()
    print(f"promptfoo {version} on node {node}; scripted model server latency {args.latency_ms:.0f} ms; concurrency {args.concurrency}")
    print("\n== verdict agreement (per case, head side) ==")
    print("\n".join(agreement))
    print("\n== wall time and model calls, full run ==")
    print("\n".join(timing))
    print("\n== model calls, a PR that changes one prompt ==")
    print("\n".join(pr_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
