"""How many promptfoo configs load: each `promptfooconfig*.yaml` under a folder (e.g. a checkout of
promptfoo's examples/) is copied with its directory into a fresh repo and checked like
`prompt-review check-config` does. Prints one line per config and the totals.

    .venv/bin/python bench/compat_examples.py PATH/TO/promptfoo/examples

An error is *unclear* when it has no line or shows a Python exception's text; a config that raises
is a crash. Refusals are split by rule (code from the PR, not part of prompt-review, other).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bot.checkconfig import check_tree
from bot.pipeline.trees import DirTree

EXCEPTION_WORDS = ("Traceback", "Error(", "object has no attribute", "NoneType", "KeyError", "TypeError")


def classify(message: str) -> str:
    if "executes code from the PR" in message or "run code from the repository" in message or "would run code" in message:
        return "code"
    if "unsupported" in message or "not part of prompt-review" in message:
        return "unsupported"
    return "other"


def main(root: Path) -> int:
    configs = sorted(p for p in root.rglob("promptfooconfig*.y*ml") if "node_modules" not in p.parts)
    totals: Counter[str] = Counter()
    for config in configs:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "repo"
            shutil.copytree(config.parent, repo / "evals")
            (repo / ".github").mkdir()
            (repo / ".github" / "prompt-review.yml").write_text(f"suites: [evals/{config.name}]\n")
            try:
                errors, _ = check_tree(DirTree(str(repo)))
            except Exception as exc:  # noqa: BLE001 - a crash is what this counts
                totals["crash"] += 1
                print(f"CRASH  {config.relative_to(root)}: {type(exc).__name__}")
                continue
        if not errors:
            totals["loads"] += 1
            print(f"ok     {config.relative_to(root)}")
            continue
        kinds = Counter(classify(e.message) for e in errors)
        unclear = [e for e in errors if e.line is None or any(w in e.message for w in EXCEPTION_WORDS)]
        totals["refused"] += 1
        totals["unclear messages"] += len(unclear)
        totals[f"refused: {kinds.most_common(1)[0][0]}"] += 1
        print(f"no     {config.relative_to(root)}: {errors[0].line}: {errors[0].message[:150]}" + (f" (+{len(errors) - 1})" if len(errors) > 1 else ""))
    n = len(configs)
    print(f"\n{totals['loads']} of {n} configs load ({100 * totals['loads'] / max(n, 1):.0f} %); "
          f"refused {totals['refused']} (code {totals['refused: code']}, not part of prompt-review {totals['refused: unsupported']}, "
          f"other {totals['refused: other']}); crashes {totals['crash']}; errors without a line or with exception text {totals['unclear messages']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
