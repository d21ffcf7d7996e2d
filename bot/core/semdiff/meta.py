"""Compare what surrounds the text: model, parameters, output settings and template variables."""

from __future__ import annotations

import json
import re

from rapidfuzz import fuzz

from bot.core.semdiff.model import Change, make_change
from bot.core.semdiff.model import ChangeType as T
from bot.core.semdiff.structure import Parsed, Setting

_MODEL_KEYS = {"model", "azure_deployment", "deployment", "deployment_name", "model_name", "engine", "name"}
_OUTPUT_KEYS = {"response_format", "responseformat", "output", "output_schema", "json_schema", "format", "responsemimetype"}
# Keys that describe the prompt or feed its variables rather than change how it runs.
_IGNORED_ROOTS = {"name", "description", "authors", "version", "tags", "metadata", "sample", "inputs", "input",
                  "outputs", "variant", "id", "variables", "testdata", "evaluators"}
# Where and how to reach the model, not how it answers (Prompty's model.configuration).
_CONNECTION_KEYS = {"azure_endpoint", "endpoint", "api_version", "api_key", "base_url", "api_base", "type",
                    "connection", "organization", "project", "api"}


def compare_settings(a: Parsed, b: Parsed) -> list[Change]:
    changes: list[Change] = []
    output_diffs: list[tuple[str, Setting | None, Setting | None]] = []
    for key in sorted(set(a.settings) | set(b.settings), key=lambda k: _line(a, b, k)):
        sa, sb = _set(a.settings.get(key)), _set(b.settings.get(key))
        if (sa is None and sb is None) or (sa is not None and sb is not None and sa.value == sb.value):
            continue
        parts = [p.lower() for p in key.split(".")]
        if parts[0] in _OUTPUT_KEYS or any(p in _OUTPUT_KEYS for p in parts[1:]):
            output_diffs.append((key, sa, sb))
            continue
        if parts[0] in _IGNORED_ROOTS or _is_connection(parts):
            continue
        va, vb = _show(sa), _show(sb)
        lines = dict(base_lines=_lines(sa), head_lines=_lines(sb))
        if _is_model_key(parts):
            changes.append(make_change(T.MODEL_CHANGED, f"model changed: {va} → {vb}", before=va, after=vb, **lines))
        else:
            changes.append(make_change(T.PARAMETER_CHANGED, f"parameter {key} changed: {va} → {vb}", before=f"{key}: {va}",
                                       after=f"{key}: {vb}", **lines))
    if output_diffs:
        keys = ", ".join(k for k, _, _ in output_diffs)
        before = "\n".join(f"{k}: {_show(sa)}" for k, sa, _ in output_diffs if sa is not None) or None
        after = "\n".join(f"{k}: {_show(sb)}" for k, _, sb in output_diffs if sb is not None) or None
        first_a = next((sa for _, sa, _ in output_diffs if sa is not None), None)
        first_b = next((sb for _, _, sb in output_diffs if sb is not None), None)
        changes.append(make_change(T.OUTPUT_FORMAT_CHANGED, f"output format changed ({keys})", before=before, after=after,
                                   base_lines=_lines(first_a), head_lines=_lines(first_b)))
    return changes


def _is_connection(parts: list[str]) -> bool:
    if _is_model_key(parts) or parts[-1] not in _CONNECTION_KEYS:
        return False
    return parts[-1] != "type" or "configuration" in parts or "connection" in parts


def _set(s: Setting | None) -> Setting | None:
    """An empty value (`variables: []`, `stop: null`) says the same as no value."""
    if s is None or s.value is None or s.value == [] or s.value == {} or s.value == "":
        return None
    return s


def rename_pairs(a: Parsed, b: Parsed) -> dict[str, str]:
    """old -> new for variables that were renamed: the removed name and the added one are used
    the same number of times, and the line using the old name reads the same with the new one."""
    gone = [v for v in a.variables if v not in b.variables]
    new = [v for v in b.variables if v not in a.variables]
    out: dict[str, str] = {}
    for old in gone:
        for fresh in new:
            if fresh in out.values() or _uses(a.text, old) != _uses(b.text, fresh):
                continue
            la, lb = a.variables[old], b.variables[fresh]
            if la is None or lb is None:
                continue
            line_a = _line_text(a.text, la).replace(old, fresh)
            if fuzz.ratio(line_a, _line_text(b.text, lb)) >= 70:
                out[old] = fresh
                break
    return out


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _uses(text: str, name: str) -> int:
    """How often `name` appears inside template tags (the word may also be prose: "the text")."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    return sum(len(word.findall(tag)) for tag in _TAG.findall(text))


def _line_text(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def compare_variables(a: Parsed, b: Parsed, renames: dict[str, str]) -> list[Change]:
    changes: list[Change] = []
    for old, new in renames.items():
        changes.append(make_change(T.VARIABLE_RENAMED, f"variable renamed: {{{{{old}}}}} → {{{{{new}}}}}", before=old,
                                   after=new, base_lines=_pt(a.variables[old]), head_lines=_pt(b.variables[new])))
    # A variable the template stops using is removed even while the front matter still declares it.
    gone = [n for n in a.variables if n not in b.variables or (n in a.uses and n not in b.uses and b.uses)]
    added = [n for n in b.variables if n not in a.variables or (n in b.uses and n not in a.uses and a.uses)]
    for name in gone:
        if name not in renames:
            changes.append(make_change(T.VARIABLE_REMOVED, f"variable {{{{{name}}}}} removed", before=name,
                                       base_lines=_pt(a.uses.get(name, a.variables[name]))))
    for name in added:
        if name not in renames.values():
            changes.append(make_change(T.VARIABLE_ADDED, f"variable {{{{{name}}}}} added", after=name,
                                       head_lines=_pt(b.uses.get(name, b.variables[name]))))
    return changes


def _is_model_key(parts: list[str]) -> bool:
    if parts == ["model"] or parts[-1] in ("azure_deployment", "deployment", "deployment_name", "model_name", "engine"):
        return True
    return parts[-1] == "model" or (parts[0] == "model" and parts[-1] == "name")


def _show(s: Setting | None) -> str:
    if s is None:
        return "(unset)"
    if isinstance(s.value, (dict, list)):
        return json.dumps(s.value, sort_keys=True)
    return str(s.value)


def _lines(s: Setting | None):
    return (s.line, s.line) if s is not None and s.line is not None else None


def _pt(line: int | None):
    return (line, line) if line is not None else None


def _line(a: Parsed, b: Parsed, key: str) -> int:
    s = a.settings.get(key) or b.settings.get(key)
    return s.line or 0 if s else 0
