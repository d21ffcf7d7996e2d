"""Are the promptfoo configs that load *read the same*? Each config of promptfoo's examples that prompt-review loads,
and whose providers the scripted model server stands in for in both tools (OpenAI, Anthropic, echo), is run by
prompt-review and by promptfoo itself (`promptfoo eval`) against the same scripted server, and the per-case verdicts
are compared, as bench/vs_promptfoo.py does for this repository's own suites. A difference is a config that loads but
is read differently: the thing issue #20 calls a silent misread.

    .venv/bin/python bench/compat_parity.py PATH/TO/promptfoo/examples [--only NAME] [--promptfoo-version 0.121.20]

Prints one line per config (cases matched, verdicts that agree) and, for a difference, the case with both tools'
output and reason. Configs are skipped (and counted) when they use another provider, a provider in code, an
apiBaseUrl, or when promptfoo itself fails on them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.compat_examples import configs_under
import json

from bench.vs_promptfoo import Server, Verdict, compare, install_promptfoo, run_promptfoo
from bot.checkconfig import check_tree
from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.pipeline.trees import DirTree

STOOD_IN = {"openai", "anthropic", "echo"}  # providers whose base URL both tools take from the environment


def case_key(description: str, prompt: str, provider: str, vars_: dict) -> str:
    """bench/vs_promptfoo.py's key, with every var (a long var told apart: examples' CSV rows are long texts)."""
    return f"{description} | {prompt} | {provider} | {json.dumps(vars_, sort_keys=True, default=str)}"


def _stood_in(p) -> bool:
    return p.kind in STOOD_IN and p.base_url is None and p.code is None and not p.options


def _ours_runs(suite) -> bool:
    """Every provider and grader is one the scripted server stands in for in both tools."""
    graders = [g for t in suite.tests for g in (t.grader, t.embedder, getattr(t, "classifier", None), getattr(t, "provider", None))
               if g is not None]
    graders += [g for t in suite.tests for a in t.asserts for c in (a.flat() if hasattr(a, "flat") else (a,))
                for g in (c.grader, c.embedder) if g is not None]
    return all(_stood_in(p) for p in [*suite.providers, *graders])


_OUR_NAME = re.compile(r"\A(?:(?P<auto>test \[[0-9a-f]{8}\])|(?P<given>.*?))(?: ~(?P<n>\d+))?\Z", re.S)


def _ours(report, templates: dict[str, str]) -> dict[str, Verdict]:
    """prompt-review's verdicts, keyed by the prompt's text (a file's prompts are labelled differently by the tools),
    the test's own description (none when prompt-review named it) and which of the tests alike it is (`~2`)."""
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
        out[case_key(f"{name} #{nth}", prompt, _provider(slot), dict(c.vars))] = Verdict(c.head.passed and not c.head.error, c.head.output, why)
    return out


def _text(prompt: str) -> str:
    """A prompt as written, without its whitespace (a YAML or JSON chat prompt is laid out differently by the tools)."""
    return re.sub(r"\s+", "", prompt)


def _provider(pid: str) -> str:
    return pid.replace(":chat:", ":", 1) if pid.startswith(("openai:chat:", "anthropic:chat:")) else pid


def _loaded(value, repo: Path):
    """A `file://` var as prompt-review reports it: the file's text (prompt-review reports vars loaded)."""
    if isinstance(value, str) and value.startswith("file://") and not any(ch in value for ch in "*?["):
        path = repo / value[len("file://"):]
        try:
            return path.read_text() if path.suffix not in (".png", ".jpg", ".jpeg", ".gif", ".pdf", ".wav", ".mp3") else value
        except (OSError, UnicodeDecodeError):
            return value
    return value


def _theirs(data: dict, names: set[str], ours: list[str], repo: Path) -> dict[str, Verdict]:
    """promptfoo's verdicts keyed as _ours keys them; `names`: the vars prompt-review's tests have (promptfoo reports
    a test's vars with what its transformVars added); `ours`: prompt-review's prompts (_text), in order — a promptfoo
    prompt whose text is none of them (a YAML chat prompt promptfoo wrote as JSON) is the one at its place."""
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
        stem = case_key(name, raw, _provider(provider.get("label") or provider.get("id", "")),
                        {k: _loaded(v, repo) for k, v in given.items() if k in names})
        rows.append((r.get("testIdx") or 0, stem, Verdict(bool(r.get("success")), output or "", why if not r.get("success") else "")))
    seen: Counter[str] = Counter()
    for _, stem, verdict in sorted(rows, key=lambda row: row[0]):  # the nth test alike, in the suite's order
        description, rest = stem.split(" | ", 1)
        out[f"{description} #{seen[stem]} | {rest}"] = verdict
        seen[stem] += 1
    return out


def main(root: Path, only: str | None, version: str) -> int:
    binary = install_promptfoo(version)
    server = Server(latency_ms=0)
    env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "bench", "ANTHROPIC_BASE_URL": server.url,
           "ANTHROPIC_API_KEY": "bench"}
    totals: Counter[str] = Counter()
    try:
        with tempfile.TemporaryDirectory(prefix="pf-home-") as home:
            for config in configs_under(root):
                name = str(config.relative_to(root))
                if only and only not in name:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    repo = Path(tmp) / "repo"
                    shutil.copytree(config.parent, repo)
                    (repo / ".github").mkdir(exist_ok=True)
                    (repo / ".github" / "prompt-review.yml").write_text(f"suites: [{config.name}]\n")
                    errors, _ = check_tree(DirTree(str(repo)))
                    if errors:
                        continue
                    suite, _ = load_suite(DirTree(str(repo)), config.name)
                    if suite is None or not _ours_runs(suite):
                        totals["skipped: other providers"] += 1
                        continue
                    request = EvalRequest(base=MemoryTree({}), head=DirTree(str(repo)), suites=[config.name], env=env,
                                          config=EvalsConfig(budget=Budget(max_calls=5000, max_usd=1e6), explain=False))
                    server.reset()
                    report = asyncio.run(run_evals(request, NoCache()))
                    if report.errors:
                        totals["skipped: suite errors"] += 1
                        print(f"skip   {name}: {str(report.errors[0])[:120]}")
                        continue
                    ours = _ours(report, {p.label: p.template for p in suite.prompts})
                    files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
                             if p.is_file() and ".github" not in p.parts}
                    try:
                        data, _, _ = run_promptfoo(binary, server, files, config.name, 4, Path(home))
                    except SystemExit as exc:  # promptfoo could not run it
                        totals["skipped: promptfoo failed"] += 1
                        print(f"skip   {name}: promptfoo wrote no results ({str(exc).splitlines()[0][:100]})")
                        continue
                    theirs = _theirs(data, {var for c in report.cases() for var in c.vars}, [_text(p.template) for p in suite.prompts], repo)
                    lines = compare(name, ours, theirs)
                    totals["configs"] += 1
                    head = lines[0]
                    matched = int(head.split("matched ")[1].split(" ")[0])
                    agree = int(head.split("verdicts agree ")[1].split("/")[0])
                    totals["cases matched"] += matched
                    totals["cases agree"] += agree
                    totals["configs all agree"] += agree == matched and matched > 0
                    for line in lines:
                        print(line)
    finally:
        server.running.stop()
    print(f"\n{totals['configs']} configs compared ({totals['skipped: other providers']} skipped for other providers, "
          f"{totals['skipped: promptfoo failed']} that promptfoo could not run); {totals['configs all agree']} agree on every "
          f"matched case; {totals['cases agree']} of {totals['cases matched']} matched cases agree")
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
    sys.exit(main(Path(args[0] if args else "."), only, version or "0.121.20"))
