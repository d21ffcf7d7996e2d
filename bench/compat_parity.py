"""Are the promptfoo configs that load *read the same*? Each config of promptfoo's examples that prompt-review loads,
and whose providers and graders the scripted model server stands in for in both tools, is run by prompt-review and by
promptfoo itself (`promptfoo eval`) against the same scripted server, and the per-case verdicts are compared, as
bench/vs_promptfoo.py does for this repository's own suites. A difference is a config that loads but is read
differently: the thing issue #20 calls a silent misread.

    .venv/bin/python bench/compat_parity.py PATH/TO/promptfoo/examples [--only NAME] [--promptfoo-version 0.121.20]
    .venv/bin/python bench/compat_parity.py --repos PATH/TO/gathered-repositories   # each top folder a repository

Prints one line per config (cases matched, verdicts that agree) and, for a difference, the case with both tools'
output and reason; then the totals, and per vendor. Configs are skipped (and counted) when they use another provider,
a provider in code, an apiBaseUrl or a config key that moves the request, when promptfoo itself fails on them, or when
either tool sent no request to the scripted server (it was not redirected).

Vendors: OpenAI, Anthropic and echo, and (VENDORS) every other vendor whose base URL both tools take from the
environment: Mistral (MISTRAL_API_BASE_URL in promptfoo), Google AI Studio (GOOGLE_API_BASE_URL), Ollama
(OLLAMA_BASE_URL; `ollama:MODEL` is promptfoo's /api/generate, `ollama:chat:` its /api/chat), Voyage as an embedding
grader (VOYAGE_API_BASE_URL), Docker Model Runner (DOCKER_MODEL_RUNNER_BASE_URL), llama.cpp (LLAMA_BASE_URL) and LiteLLM
(LITELLM_API_BASE); and providers written in code, which call the model themselves (promptfoo's Python runs with the
real openai, anthropic, requests and httpx from bench/vs_promptfoo.py's venv; prompt-review's through its bridge).
Last run (promptfoo 0.121.20, examples 0.118.17): 72 configs, 1,774 of 1,774 matched cases agree
(per vendor, a config counted under each vendor it uses: OpenAI 48 configs 756/756, Anthropic 5 239/239, echo 3 49/49,
Mistral 7 71/71, Google 5 22/22, Ollama 3 862/862, Docker 2 5/5, llama.cpp 1 10/10, LiteLLM 1 12/12, Voyage 1 1/1,
code 1 12/12 — python-provider, its openai client over the bridge).
max-score-selection is skipped: promptfoo refuses `anthropic:claude-4-sonnet` (a shorthand id not in its model list),
which prompt-review runs.

Skipped vendors, and why:
- Groq, Together, DeepSeek, OpenRouter, Perplexity, Hyperbolic, CometAPI, AI/ML API, Cerebras: promptfoo builds them on
  its OpenAI provider with a fixed `config.apiBaseUrl`, which wins over every environment variable.
- xAI: promptfoo's xAI chat sets `config.apiBaseUrl` to api.x.ai (or the region's host) itself; XAI_API_BASE_URL
  never reaches it.
- Cohere, Replicate, Hugging Face: promptfoo calls fixed URLs (api.cohere.ai, api.replicate.com, router.huggingface.co).
- Vertex: promptfoo calls `https://VERTEX_API_HOST` (HTTPS only, the scripted server is plain HTTP) with Google
  credentials.
- Helicone: promptfoo's gateway is the config's `baseUrl` or localhost:8080; no variable.
- Bedrock: the AWS SDK's AWS_ENDPOINT_URL_BEDROCK_RUNTIME redirects promptfoo, but its `bedrock:MODEL` calls InvokeModel
  in each model family's own body (prompt-review calls Converse), which the scripted server answers only for embedding
  models, and promptfoo refuses model ids it does not know (`us.anthropic.claude-opus-4-…`); no example uses
  `bedrock:converse:`.
- Azure: every example sets `config.apiHost` (or `apiBaseUrl`); promptfoo sends to AZURE_API_BASE_URL over the
  config's apiHost, prompt-review sends to the apiHost as a suite URL (allowlisted, deliberately), so they cannot
  meet at the server.
- Fireworks (FIREWORKS_API_BASE_URL): redirectable, but no example uses it. SageMaker, watsonx, fal: not tried yet.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.compat_examples import configs_under, repository_for
from bench.vs_promptfoo import Server, Verdict, compare, install_promptfoo, run_promptfoo
from bot.checkconfig import check_tree
from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.pipeline.trees import DirTree

STOOD_IN = {"openai", "anthropic", "echo"}  # providers whose base URL both tools take from the environment


@dataclass(frozen=True)
class Redirect:
    """How both tools are pointed at the scripted server for one more vendor (`{url}`: the server's): prompt-review's
    variables, promptfoo's, and the provider config keys that leave the address alone (any other key skips the config)."""

    ours: dict[str, str]
    theirs: dict[str, str]
    keys: frozenset[str] = frozenset()
    apis: frozenset[str] = frozenset({"embedding"})  # the `api` values (the provider id's kind) that are compared


VENDORS = {
    "mistral": Redirect({"MISTRAL_BASE_URL": "{url}/v1", "MISTRAL_API_KEY": "bench"},
                        {"MISTRAL_API_BASE_URL": "{url}/v1", "MISTRAL_API_KEY": "bench"}, frozenset({"api"})),
    "google": Redirect({"GEMINI_BASE_URL": "{url}", "GEMINI_API_KEY": "bench"},
                       {"GOOGLE_API_BASE_URL": "{url}", "GEMINI_API_KEY": "bench"}, frozenset({"systemInstruction", "api"})),
    "ollama": Redirect({"OLLAMA_BASE_URL": "{url}"}, {"OLLAMA_BASE_URL": "{url}"}, frozenset({"api"}),
                       frozenset({"embedding", "completion"})),
    "voyage": Redirect({"VOYAGE_BASE_URL": "{url}/v1", "VOYAGE_API_KEY": "bench"},
                       {"VOYAGE_API_BASE_URL": "{url}/v1", "VOYAGE_API_KEY": "bench"}, frozenset({"api"})),
    "docker": Redirect({"DOCKER_MODEL_RUNNER_BASE_URL": "{url}"}, {"DOCKER_MODEL_RUNNER_BASE_URL": "{url}"}, frozenset({"api"})),
    "litellm": Redirect({"LITELLM_BASE_URL": "{url}/v1", "LITELLM_API_KEY": "bench"},
                        {"LITELLM_API_BASE": "{url}/v1", "LITELLM_API_KEY": "bench"}, frozenset({"api"})),
    "llama": Redirect({"LLAMA_BASE_URL": "{url}"}, {"LLAMA_BASE_URL": "{url}"}),
}


def case_key(description: str, prompt: str, provider: str, vars_: dict) -> str:
    """bench/vs_promptfoo.py's key, with every var (a long var told apart: examples' CSV rows are long texts). A var that is
    JSON text is keyed by its JSON: promptfoo's results write `'["a", "b"]'` as `'["a","b"]'` (the prompt it sent keeps the text)."""
    return f"{description} | {prompt} | {provider} | {json.dumps({k: _canonical(v) for k, v in vars_.items()}, sort_keys=True, default=str)}"


def _canonical(value: object) -> object:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.dumps(json.loads(value), separators=(",", ":"), sort_keys=True)
        except ValueError:
            return value
    return value


def _stood_in(p) -> bool:
    if p.code is not None:  # a provider in code calls the model itself: compared when both tools reached the server
        return p.base_url is None
    if p.base_url is not None:
        return False
    if p.kind in STOOD_IN:
        return not p.options
    if p.kind not in VENDORS:
        return False
    redirect, options = VENDORS[p.kind], dict(p.options)
    return set(options) <= redirect.keys and options.get("api", "embedding") in redirect.apis


def _everyone(suite) -> list:
    """The suite's providers and graders (a test's grader, embedder, classifier and provider, an assertion's)."""
    graders = [g for t in suite.tests for g in (t.grader, t.embedder, getattr(t, "classifier", None), getattr(t, "provider", None))
               if g is not None]
    graders += [g for t in suite.tests for a in t.asserts for c in (a.flat() if hasattr(a, "flat") else (a,))
                for g in (c.grader, c.embedder) if g is not None]
    return [*suite.providers, *graders]


def _ours_runs(suite) -> bool:
    """Every provider and grader is one the scripted server stands in for in both tools."""
    return all(_stood_in(p) for p in _everyone(suite))


def _vendors(suite) -> list[str]:
    """The vendors a config is counted under: its providers' (a grader's vendor when it is another)."""
    return sorted({p.kind for p in _everyone(suite)} - {"echo"} or {"echo"})


def _endpoints(server: Server) -> Counter[str]:
    return Counter(httpx.get(f"{server.url}/_control/stats").json()["by_endpoint"])


_OUR_NAME = re.compile(r"\A(?:(?P<auto>test \[[0-9a-f]{8}\])|(?P<given>.*?))(?: ~(?P<n>\d+))?\Z", re.S)


def _ours(report, templates: dict[str, str], numbered: dict[str, tuple[str, int]]) -> dict[str, Verdict]:
    """prompt-review's verdicts, keyed by the prompt's text (a file's prompts are labelled differently by the tools),
    the test's own description (none when prompt-review named it) and which of the tests alike it is (`~2`);
    `numbered`: the labels prompt-review gives entries sharing an id (`ID#k`) → (ID, k)."""
    out = {}
    for c in report.cases():
        if c.head is None:
            continue
        why = c.head.error or "; ".join(c.head.failed_assertions)
        prompt = _text(templates.get(c.prompt_label, c.prompt_label))
        m = _OUR_NAME.match(c.description)
        name = "" if m is None or m.group("auto") else m.group("given")
        nth = int(m.group("n")) - 1 if m is not None and m.group("n") else 0
        slot = c.key.rsplit("::", 1)[-1]  # the provider's label, else its id (two entries may share an id)
        if slot in numbered:  # the kth unlabelled entry of one id (`ID#k`): promptfoo's are the nth cases alike
            slot, k = numbered[slot]
            nth += k - 1
        out[case_key(f"{name} #{nth}", prompt, _provider(slot), dict(c.vars))] = Verdict(c.head.passed and not c.head.error, c.head.output, why)
    return out


def _text(prompt: str) -> str:
    """A prompt as written, without its whitespace (a YAML or JSON chat prompt is laid out differently by the tools)."""
    return re.sub(r"\s+", "", prompt)


def _provider(pid: str) -> str:
    if pid.startswith("ollama:completion:"):  # promptfoo's id for `ollama:MODEL`
        return pid.replace(":completion:", ":", 1)
    return pid.replace(":chat:", ":", 1) if pid.startswith(("openai:chat:", "anthropic:chat:")) else pid


def _loaded(value, repo: Path):
    """A `file://` var as prompt-review reports it: the file's text, an audio file's base64 (prompt-review reports
    vars loaded)."""
    if isinstance(value, str) and value.startswith("file://") and not any(ch in value for ch in "*?["):
        path = repo / value[len("file://"):]
        try:
            if path.suffix in (".wav", ".mp3"):
                return base64.b64encode(path.read_bytes()).decode()
            return path.read_text() if path.suffix not in (".png", ".jpg", ".jpeg", ".gif", ".pdf") else value
        except (OSError, UnicodeDecodeError):
            return value
    return value


def _theirs(data: dict, names: set[str], ours: list[str], repo: Path, slots: list[str] | None = None) -> dict[str, Verdict]:
    """promptfoo's verdicts keyed as _ours keys them; `names`: the vars prompt-review's tests have (promptfoo reports
    a test's vars with what its transformVars added); `ours`: prompt-review's prompts (_text), in order — a promptfoo
    prompt whose text is none of them (a YAML chat prompt promptfoo wrote as JSON) is the one at its place; `slots`:
    prompt-review's providers — a suite's only provider is the one promptfoo reports under another name (a provider
    written in code reports what its `id()` returns)."""
    only = slots[0] if slots is not None and len(slots) == 1 else None
    out: dict[str, Verdict] = {}
    rows = []
    prompts = data["results"].get("prompts") or []  # one per prompt and provider
    distinct = list(dict.fromkeys(_text(str(p.get("raw", ""))) for p in prompts))
    for r in data["results"]["results"]:
        test, provider = r.get("testCase") or {}, r.get("provider") or {}
        idx = r.get("promptIdx")
        raw = _text(str((prompts[idx] if isinstance(idx, int) and idx < len(prompts) else {}).get("raw", "")))
        if raw not in ours and len(distinct) == len(ours) and raw in distinct:
            raw = ours[distinct.index(raw)]
        output = (r.get("response") or {}).get("output")
        output = output if isinstance(output, str) else json.dumps(output)
        why = r.get("error") or (r.get("gradingResult") or {}).get("reason") or ""
        name = test.get("description") or r.get("description") or ""
        name = "" if re.fullmatch(r"Row #\d+", name) else name  # promptfoo's name for a CSV row without a description
        given = test.get("vars") or r.get("vars") or {}
        stem = case_key(name, raw, _provider(only or provider.get("label") or provider.get("id", "")),
                        {k: _loaded(v, repo) for k, v in given.items() if k in names})
        rows.append((r.get("testIdx") or 0, stem, Verdict(bool(r.get("success")), output or "", why if not r.get("success") else "")))
    seen: Counter[str] = Counter()
    for _, stem, verdict in sorted(rows, key=lambda row: row[0]):  # the nth test alike, in the suite's order
        description, rest = stem.split(" | ", 1)
        out[f"{description} #{seen[stem]} | {rest}"] = verdict
        seen[stem] += 1
    return out


def main(root: Path, only: str | None, version: str, repos: bool = False) -> int:
    binary = install_promptfoo(version)
    server = Server(latency_ms=0)
    base = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "bench", "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "bench"}
    totals: Counter[str] = Counter()
    per_vendor: dict[str, Counter[str]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="pf-home-") as home:
            for config in configs_under(root):
                name = str(config.relative_to(root))
                if only and only not in name:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    if repos:  # the whole repository, its suite where it is
                        repo, suite_path = repository_for(root, config, Path(tmp), True)
                    else:
                        repo, suite_path = Path(tmp) / "repo", config.name
                        shutil.copytree(config.parent, repo)
                        (repo / ".github").mkdir(exist_ok=True)
                        (repo / ".github" / "prompt-review.yml").write_text(f"suites: [{config.name}]\n")
                    errors, _ = check_tree(DirTree(str(repo)))
                    if errors:
                        continue
                    suite, _ = load_suite(DirTree(str(repo)), suite_path, code=base_code())  # code that runs at load
                    if suite is None or not _ours_runs(suite):
                        totals["skipped: other providers"] += 1
                        continue
                    vendors = _vendors(suite)
                    redirects = [VENDORS[v] for v in vendors if v in VENDORS]
                    env = {**base, **{k: v.format(url=server.url) for r in redirects for k, v in r.ours.items()}}
                    their_env = {k: v.format(url=server.url) for r in redirects for k, v in r.theirs.items()}
                    request = EvalRequest(base=MemoryTree({}), head=DirTree(str(repo)), suites=[suite_path], env=env,
                                          config=EvalsConfig(budget=Budget(max_calls=5000, max_usd=1e6), explain=False))
                    server.reset()
                    report = asyncio.run(run_evals(request, NoCache()))
                    our_calls = _endpoints(server)
                    if report.errors:
                        totals["skipped: suite errors"] += 1
                        print(f"skip   {name}: {str(report.errors[0])[:120]}")
                        continue
                    numbered = {p.label: (p.id, int(p.label.rsplit("#", 1)[1])) for p in suite.providers
                                if p.label and re.fullmatch(re.escape(p.id) + r"#\d+", p.label)}
                    ours = _ours(report, {p.label: p.template for p in suite.prompts}, numbered)
                    files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
                             if p.is_file() and ".github" not in p.parts}
                    try:
                        data, _, _ = run_promptfoo(binary, server, files, suite_path, 4, Path(home), their_env)
                    except SystemExit as exc:  # promptfoo could not run it
                        totals["skipped: promptfoo failed"] += 1
                        print(f"skip   {name}: promptfoo wrote no results ({str(exc).splitlines()[0][:100]})")
                        continue
                    except subprocess.TimeoutExpired:
                        totals["skipped: promptfoo failed"] += 1
                        print(f"skip   {name}: promptfoo did not finish in 10 minutes")
                        continue
                    their_calls = _endpoints(server)
                    lacking = [r for r in data["results"]["results"] if re.search(r"Cannot find module|ModuleNotFoundError", str(r.get("error") or ""))]
                    if lacking:  # the example's code needs a package the bench does not install for promptfoo
                        totals["skipped: promptfoo failed"] += 1
                        print(f"skip   {name}: promptfoo's run lacks a package: {str(lacking[0].get('error')).splitlines()[0][:100]}")
                        continue
                    offline = [r for r in data["results"]["results"] if re.search(r"ENOTFOUND|getaddrinfo|EAI_AGAIN", str(r.get("error") or ""))]
                    if offline:  # promptfoo's run called a host the bench cannot point at the scripted server (code's own URL)
                        totals["skipped: not redirected"] += 1
                        print(f"skip   {name}: promptfoo's run called a host outside: {str(offline[0].get('error')).splitlines()[0][:100]}")
                        continue
                    if redirects and not (our_calls and their_calls):  # a tool that never reached the server compares nothing
                        totals["skipped: not redirected"] += 1
                        print(f"skip   {name}: requests to the scripted server: prompt-review {dict(our_calls)}, promptfoo {dict(their_calls)}")
                        continue
                    theirs = _theirs(data, {var for c in report.cases() for var in c.vars}, [_text(p.template) for p in suite.prompts],
                                     (repo / suite_path).parent, [p.slot for p in suite.providers])
                    lines = compare(name, ours, theirs)
                    head = lines[0]
                    matched = int(head.split("matched ")[1].split(" ")[0])
                    agree = int(head.split("verdicts agree ")[1].split("/")[0])
                    for tally in (totals, *(per_vendor.setdefault(v, Counter()) for v in vendors)):
                        tally["configs"] += 1
                        tally["cases matched"] += matched
                        tally["cases agree"] += agree
                        tally["configs all agree"] += agree == matched and matched > 0
                    for line in lines:
                        print(line)
                    if our_calls.keys() != their_calls.keys():
                        print(f"  endpoints: prompt-review {dict(our_calls)}, promptfoo {dict(their_calls)}")
    finally:
        server.running.stop()
    print(f"\n{totals['configs']} configs compared ({totals['skipped: other providers']} skipped for other providers, "
          f"{totals['skipped: promptfoo failed']} that promptfoo could not run, {totals['skipped: not redirected']} where a tool "
          f"did not reach the scripted server); {totals['configs all agree']} agree on every matched case; "
          f"{totals['cases agree']} of {totals['cases matched']} matched cases agree")
    for vendor, tally in sorted(per_vendor.items()):
        print(f"  {vendor:10s} {tally['configs']} configs, {tally['configs all agree']} agree on every matched case; "
              f"{tally['cases agree']} of {tally['cases matched']} matched cases agree")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    only = version = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    if "--promptfoo-version" in args:
        i = args.index("--promptfoo-version")
        version = args[i + 1]
        del args[i:i + 2]
    repos = "--repos" in args
    args = [a for a in args if a != "--repos"]
    sys.exit(main(Path(args[0] if args else "."), only, version or "0.121.20", repos))
