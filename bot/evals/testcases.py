"""Tests of a suite: inline, or from file:// YAML/JSON/CSV (with `__expected` columns), merged with
`defaultTest`; assertions validated here so a bad regex or schema is reported with its line.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from typing import Any

import jsonschema

from bot.core.config import CONFIG_PATH
from bot.core.errors import UserError
from bot.core.files import FileTree
from bot.core.yamlsrc import LocatedYaml, Path, load_yaml
from bot.evals.loader import DEFAULT_MAX_CASES, Collector, file_ref_paths, is_code_ref, parse_provider, read_text, resolve, yaml_or_json
from bot.evals.patterns import PatternError, compile_pattern
from bot.evals.suite import AssertionSpec, ProviderSpec, TestSpec

TEST_KEYS = {"description", "vars", "assert", "threshold", "metadata", "options"}
ASSERT_KEYS = {"type", "value", "threshold", "weight", "metric", "provider"}
DETERMINISTIC = {
    "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
    "regex", "starts-with", "is-json", "contains-json", "levenshtein",
}
MODEL_GRADED = {"llm-rubric", "similar"}
SUPPORTED = DETERMINISTIC | MODEL_GRADED
CODE_TYPES = {
    "python": "python assertions run code from the repository",
    "javascript": "javascript assertions run code from the repository",
    "ruby": "ruby assertions run code from the repository",
    "webhook": "webhook assertions send outputs to an arbitrary URL and trust its answer",
}
# promptfoo's `__expected` shorthand: 'icontains: 30 days', 'levenshtein(3): foo', 'grade: polite'
_EXPECTED = re.compile(r"^(not-)?([a-z-]+)(?:\((\d+(?:\.\d+)?)\))?:\s?([\s\S]*)$")


def load_tests(
    tree: FileTree, base_dir: str, located: LocatedYaml, errors: Collector, max_cases: int = DEFAULT_MAX_CASES
) -> list[TestSpec]:
    """The suite's tests with list-valued vars expanded; more than `max_cases` (limits.max_cases) is an
    error naming the test that passes it, found by counting before anything is expanded."""
    data = located.data
    default = data.get("defaultTest") or {}
    if not isinstance(default, dict):
        errors.add(located, ("defaultTest",), "defaultTest must be a mapping")
        default = {}
    dflt = _check_test(tree, base_dir, located, ("defaultTest",), default, errors, is_default=True)
    raw = data.get("tests")
    if raw is None:
        errors.add(located, (), "a suite needs `tests`")
        return []
    sources: list[tuple[LocatedYaml, Path, Any]] = []
    entries = [(("tests",), raw)] if isinstance(raw, str) else [(("tests", i), t) for i, t in enumerate(raw)] if isinstance(raw, list) else None
    if entries is None:
        errors.add(located, ("tests",), "tests must be a list or a file:// reference")
        return []
    for where, item in entries:
        if isinstance(item, dict):
            sources.append((located, where, item))
        elif isinstance(item, str):
            sources.extend(_tests_from_ref(tree, base_dir, located, where, item, errors))
        else:
            errors.add(located, where, "a test must be a mapping with vars and assert")
        if len(sources) > max_cases:  # before checking them, and without reading further test files
            errors.add(located, where, _too_many({}, 1, 0, max_cases))
            return []
    out: list[TestSpec] = []
    for src, where, item in sources:
        spec = _check_test(tree, base_dir, src, where, item, errors)
        if spec is None:
            continue
        vars_ = {**dflt.vars, **spec.vars} if dflt else spec.vars
        count = _count_cases(vars_)
        if len(out) + count > max_cases:
            errors.add(src, where + (("vars",) if count > 1 else ()), _too_many(vars_, count, len(out), max_cases))
            break
        for combo in _expand_vars(vars_):
            out.append(
                TestSpec(
                    index=len(out),
                    description=spec.description,
                    vars=combo,
                    asserts=(dflt.asserts if dflt else ()) + spec.asserts,
                    threshold=spec.threshold if spec.threshold is not None else (dflt.threshold if dflt else None),
                    metadata={**(dflt.metadata if dflt else {}), **spec.metadata},
                    grader=spec.grader or (dflt.grader if dflt else None),
                    file=spec.file,
                    line=spec.line,
                    var_files={
                        k: path
                        for k, path in {**(dflt.var_files if dflt else {}), **spec.var_files}.items()
                        if k in spec.var_files or k not in spec.vars
                    },
                )
            )
    return out


def _count_cases(vars_: dict[str, Any]) -> int:
    """How many cases `_expand_vars` would make, without making them."""
    return math.prod(len(v) for v in vars_.values() if isinstance(v, list))


def _too_many(vars_: dict[str, Any], count: int, before: int, limit: int) -> str:
    raise_it = f"raise `limits.max_cases` in {CONFIG_PATH} (default {DEFAULT_MAX_CASES:,}) if they are all wanted"
    if count > 1:
        lists = " × ".join(f"{name} ({len(v)})" for name, v in vars_.items() if isinstance(v, list))
        what = f"the list-valued vars expand this test into {count:,} cases ({lists})"
        if before:
            what += f", after {before:,} cases from the tests before it"
    else:
        what = f"the suite has more than {limit:,} tests"
    return f"{what}: over the limit of {limit:,} cases per suite; {raise_it}"


def _expand_vars(vars_: dict[str, Any]) -> list[dict[str, Any]]:
    """A list-valued var runs the test once per value (promptfoo's cartesian expansion)."""
    names = [k for k, v in vars_.items() if isinstance(v, list)]
    if not names:
        return [vars_]
    return [{**vars_, **dict(zip(names, values))} for values in itertools.product(*(vars_[n] for n in names))]


def _tests_from_ref(tree, base_dir, located, where, ref: str, errors) -> list[tuple[LocatedYaml, Path, Any]]:
    if not ref.startswith("file://"):
        errors.add(located, where, "tests must be mappings or file:// references (remote test sheets are not supported)")
        return []
    found = file_ref_paths(tree, base_dir, located, errors, where, ref, "a test generator")
    out = []
    for path in found:
        try:
            text = read_text(tree, path)
            if path.lower().endswith(".csv"):
                doc = _csv_tests(path, text)
            elif path.lower().endswith((".yaml", ".yml", ".json")):
                doc = load_yaml(text, path)  # JSON is YAML; this keeps line numbers
            else:
                errors.add(located, where, f"test file {path} must be .yaml, .yml, .json or .csv")
                continue
        except UserError as exc:
            errors.extend(exc)
            continue
        items = doc.data if isinstance(doc.data, list) else [doc.data] if isinstance(doc.data, dict) else None
        if items is None:
            errors.add(doc, (), "a test file must hold a list of tests")
            continue
        if isinstance(doc.data, list):
            out.extend((doc, (i,), t) for i, t in enumerate(items))
        else:
            out.append((doc, (), doc.data))
    return out


def _csv_tests(path: str, text: str) -> LocatedYaml:
    """CSV rows as test mappings; `__expected*` columns become assertions, the rest are vars."""
    reader = csv.DictReader(io.StringIO(text))
    doc = LocatedYaml(file=path, data=[])
    doc.lines[()] = 1
    for row in reader:
        i = len(doc.data)
        doc.lines[(i,)] = reader.line_num
        test: dict[str, Any] = {"vars": {}, "assert": []}
        for column, value in row.items():
            if column is None:
                raise UserError(doc.error((i,), "row has more cells than the header"))
            value = value or ""
            if column.startswith("__expected"):
                if value.strip():
                    test["assert"].append(expected_to_assertion(value))
            elif column == "__description":
                test["description"] = value
            elif column == "__threshold":
                test["threshold"] = float(value) if value else None
            elif column.startswith("__metadata:"):
                test.setdefault("metadata", {})[column.split(":", 1)[1]] = value
            elif column.startswith("__"):
                raise UserError(doc.error((i,), f"unsupported CSV column {column!r}"))
            else:
                test["vars"][column] = value
        doc.data.append(test)
    return doc


def expected_to_assertion(text: str) -> dict[str, Any]:
    """promptfoo's `__expected` string form → an assertion mapping (plain text means equals)."""
    for prefix, kind in (("grade:", "llm-rubric"), ("llm-rubric:", "llm-rubric")):
        if text.startswith(prefix):
            return {"type": kind, "value": text[len(prefix):].strip()}
    for prefix in ("javascript:", "fn:", "eval:"):
        if text.startswith(prefix):
            return {"type": "javascript", "value": text[len(prefix):]}
    if text.startswith("python:"):
        return {"type": "python", "value": text[len("python:"):]}
    m = _EXPECTED.match(text)
    if m and (m.group(2) in SUPPORTED or m.group(2) in CODE_TYPES):
        kind = (m.group(1) or "") + m.group(2)
        value: Any = m.group(4)
        if m.group(2) in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
            value = [v.strip() for v in value.split(",") if v.strip()]
        out: dict[str, Any] = {"type": kind}
        if value not in ("", []):
            out["value"] = value
        if m.group(3):
            out["threshold"] = float(m.group(3))
        return out
    return {"type": "equals", "value": text}


def _check_test(tree, base_dir, located, where, item: dict, errors: Collector, is_default: bool = False) -> TestSpec | None:
    before = len(errors.errors)
    for key in item:
        if key not in TEST_KEYS:
            errors.add(located, where + (key,), f"unknown test key {key!r} (supported: {', '.join(sorted(TEST_KEYS))})")
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        description = str(description)
    vars_ = item.get("vars") or {}
    if not isinstance(vars_, dict):
        errors.add(located, where + ("vars",), "vars must be a mapping of name → value")
        vars_ = {}
    var_files = {
        str(k): target
        for k, v in vars_.items()
        if isinstance(v, str) and v.startswith("file://") and (target := resolve(base_dir, v[len("file://"):])) is not None
    }
    vars_ = {str(k): _load_var(tree, base_dir, located, where + ("vars", k), v, errors) for k, v in vars_.items()}
    asserts_raw = item.get("assert") or []
    if not isinstance(asserts_raw, list):
        errors.add(located, where + ("assert",), "assert must be a list")
        asserts_raw = []
    asserts = []
    for i, a in enumerate(asserts_raw):
        spec = check_assertion(tree, base_dir, located, where + ("assert", i), a, errors)
        if spec is not None:
            asserts.append(spec)
    threshold = item.get("threshold")
    if threshold is not None and not isinstance(threshold, (int, float)):
        errors.add(located, where + ("threshold",), "threshold must be a number")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        errors.add(located, where + ("metadata",), "metadata must be a mapping")
        metadata = {}
    grader = None
    options = item.get("options") or {}
    if isinstance(options, dict):
        for key, value in options.items():
            if key == "provider":
                grader = parse_provider(value, located, where + ("options", "provider"), errors)
            else:
                what = "refused" if key in ("transform", "postprocess") else "unsupported"
                errors.add(located, where + ("options", key), f"{what} test option {key!r} (supported: provider — the grader)")
    else:
        errors.add(located, where + ("options",), "options must be a mapping")
    if len(errors.errors) > before and not is_default:
        return None
    return TestSpec(-1, description, vars_, tuple(asserts), threshold, dict(metadata), grader, located.file, located.line_of(where),
                    var_files)


def _load_var(tree, base_dir, located, where, value: Any, errors: Collector) -> Any:
    if isinstance(value, str) and value.startswith("file://"):
        ref = value[len("file://"):]
        if is_code_ref(ref):
            errors.add(located, where, f"refused: {value} would run code from the repository to make a var")
            return ""
        target = resolve(base_dir, ref)
        if target is None or tree.read(target) is None:
            errors.add(located, where, f"var file {ref!r} not found")
            return ""
        try:
            return read_text(tree, target)
        except UserError as exc:
            errors.extend(exc)
            return ""
    return value


def check_assertion(tree, base_dir, located, where: Path, raw: Any, errors: Collector) -> AssertionSpec | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        errors.add(located, where, "an assertion needs a `type`")
        return None
    kind = raw["type"]
    base = kind[4:] if kind.startswith("not-") else kind
    if base in CODE_TYPES:
        errors.add(located, where + ("type",), f"refused: {kind}: {CODE_TYPES[base]}")
        return None
    if base not in SUPPORTED:
        errors.add(located, where + ("type",), f"unsupported assertion type {kind!r} (supported: {', '.join(sorted(SUPPORTED))} and their not- forms)")
        return None
    ok = True
    for key in raw:
        if key not in ASSERT_KEYS:
            refused = key in ("transform", "rubricPrompt", "config")
            why = "runs or injects code/templates from the repository" if refused else f"supported: {', '.join(sorted(ASSERT_KEYS))}"
            errors.add(located, where + (key,), f"{'refused' if refused else 'unknown'} assertion key {key!r} ({why})")
            ok = False
    value = raw.get("value")
    if isinstance(value, str) and value.startswith("file://"):
        ref = value[len("file://"):]
        target = resolve(base_dir, ref)
        if is_code_ref(ref):
            errors.add(located, where + ("value",), f"refused: {value} would run code from the repository")
            return None
        if target is None or tree.read(target) is None:
            errors.add(located, where + ("value",), f"file {ref!r} not found")
            return None
        try:
            text = read_text(tree, target)
            value = yaml_or_json(target, text) if target.lower().endswith((".json", ".yaml", ".yml")) else text
        except UserError as exc:
            errors.extend(exc)
            return None
    problem = _value_problem(base, value)
    if problem:
        errors.add(located, where + ("value",), f"{kind}: {problem}")
        ok = False
    weight = raw.get("weight", 1.0)
    threshold = raw.get("threshold")
    for name, number in (("weight", weight), ("threshold", threshold)):
        if number is not None and (not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0):
            errors.add(located, where + (name,), f"{name} must be a non-negative number")
            ok = False
    metric = raw.get("metric")
    grader: ProviderSpec | None = None
    if raw.get("provider") is not None:
        grader = parse_provider(raw["provider"], located, where + ("provider",), errors)
    if not ok:
        return None
    return AssertionSpec(kind, value, threshold, float(weight), str(metric) if metric is not None else None, grader, located.file, located.line_of(where))


def _value_problem(base: str, value: Any) -> str | None:
    if base in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
        if isinstance(value, str):
            return None  # comma-separated, as in promptfoo
        if not isinstance(value, list) or not value:
            return "value must be a non-empty list"
        return None
    if base in ("is-json", "contains-json"):
        if value is None:
            return None
        if not isinstance(value, dict):
            return "value must be a JSON schema (mapping) or a file:// reference to one"
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            return f"invalid JSON schema: {exc.message}"
        return None
    if value is None:
        return "needs a value"
    if base == "regex":
        if not isinstance(value, str):
            return "value must be a regular expression"
        try:
            compile_pattern(value)
        except PatternError as exc:
            return f"invalid regular expression: {exc}"
    if base == "equals" and not isinstance(value, (str, int, float, bool, dict, list)):
        return "value must be text or JSON"
    if base in ("contains", "icontains", "starts-with", "levenshtein", "llm-rubric") and not isinstance(value, (str, int, float)):
        return "value must be text"
    if base == "similar" and not isinstance(value, (str, list)):
        return "value must be text or a list of texts"
    return None

