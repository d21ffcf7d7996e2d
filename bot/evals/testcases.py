"""Tests of a suite: inline, or from file:// YAML/JSON/CSV (with `__expected` columns), merged with
`defaultTest`; assertions validated here so a bad regex or schema is reported with its line.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import math
import posixpath
import re
from dataclasses import replace
from typing import Any, NamedTuple

from bot.core.config import CONFIG_PATH, LimitsConfig
from bot.core.errors import SourceError, UserError
from bot.core.files import FileTree
from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.checks import (
    CODE_TYPES, GRADER_INPUTS, SIMILAR_TYPES, STEP_VARS, SUPPORTED, _as_text, _fill_rubric_vars, check_assertion, code_refusal, not_classifier, parse_grader,
    rubric_prompt, transform_code,
)
from bot.evals.classifier import SIMILARITY_API
from bot.evals.scoring import scoring_code
from bot.evals.generators import MAX_GENERATORS, NOT_DECIDED, LoadCode, generated_tests, var_code
from bot.evals.hooked_tests import SuiteHooks, Written, apply_before_all, apply_before_each, test_view
from bot.evals.hooks import HookOutput
from bot.evals.shapes import check
from bot.evals.sources import (DEFAULT_MAX_CASES, Collector, FileTooLarge, expand_refs, file_ref_paths, is_code_ref, load_json,
                               load_yaml_kept, read_bounded, read_text, resolve, yaml_or_json)
from bot.evals.suite import FACTUALITY_CATEGORIES, AssertionSpec, ProviderSpec, TestSpec
from bot.evals.suite_models import (FactualityScores, Scenario, TestEntry, grading_option_misses, ignored_test_key, ignored_test_keys,
                                    ignored_test_options)
from bot.evals.test_provider import parse_test_provider

# promptfoo's `__expected` shorthand: 'icontains: 30 days', 'levenshtein(3): foo', 'grade: polite'
_EXPECTED = re.compile(r"^(not-)?([a-z-]+)(?:\((\d+(?:\.\d+)?)\))?:\s?([\s\S]*)$")


def load_tests(
    tree: FileTree, base_dir: str, located: LocatedYaml, errors: Collector, max_cases: int = DEFAULT_MAX_CASES,
    max_var_bytes: int = LimitsConfig().max_prompt_bytes, code: LoadCode = NOT_DECIDED, hooks: SuiteHooks | None = None,
) -> list[TestSpec]:
    """The suite's tests with list-valued vars expanded; more than `max_cases` (limits.max_cases) is an
    error naming the test that passes it, found by counting before anything is expanded. Test generators
    run as `code` allows (bot.evals.generators); then the suite's beforeAll hooks, and its beforeEach hooks on
    each test as expanded (`hooks`, already through the code gate: bot.evals.hooked_tests)."""
    data = located.data
    default_where: Path = ("defaultTest",)
    default_src, default = located, data.get("defaultTest") or {}
    if isinstance(default, str) and default.startswith("file://"):
        loaded = _tests_from_ref(tree, base_dir, located, default_where, default, errors)
        default = {}
        if len(loaded) == 1 and isinstance(loaded[0][2], dict):
            default_src, default_where, default = loaded[0]
        elif loaded:
            errors.add(located, default_where, "defaultTest file must hold one mapping")
    if not isinstance(default, dict):
        errors.add(located, ("defaultTest",), "defaultTest must be a mapping or a file:// reference to one")
        default = {}
    dflt = _check_test(tree, base_dir, default_src, default_where, default, errors, is_default=True, max_var_bytes=max_var_bytes)
    raw = data.get("tests")
    sources: list[tuple[LocatedYaml, Path, Any]] = []
    if raw is None:
        if data.get("scenarios") is None:  # promptfoo runs a suite without tests once, with defaultTest's vars
            sources.append((located, (), {}))
        raw = []
    entries: list[tuple[Path, Any]] | None = (
        [(("tests",), raw)] if isinstance(raw, str) or _is_path_entry(raw)
        else [(("tests", i), t) for i, t in enumerate(raw)] if isinstance(raw, list) else None
    )
    if entries is None:
        errors.add(located, ("tests",), "tests must be a list or a file:// reference")
        return []
    generators = 0
    for where, item in entries:
        config = None
        if _is_path_entry(item):  # {path, config}: the config reaches a generator (a data file has no use for it)
            where, config = where + ("path",), item.get("config")
            item = item["path"] if item["path"].startswith("file://") else "file://" + item["path"]
        if isinstance(item, str) and "://" not in item:  # promptfoo reads a bare path or glob as a file (readTests)
            item = "file://" + item
        if isinstance(item, dict):
            sources.append((located, where, item))
        elif isinstance(item, str) and item.startswith("file://") and is_code_ref(item[len("file://"):]):
            generators += 1
            if generators > MAX_GENERATORS:  # each may run up to limits.code_timeout_s: their number is bounded too
                errors.add(located, where, f"more than {MAX_GENERATORS} test generators in one suite; merge them into fewer "
                                           "functions (one may return every test)")
                return []
            sources.extend(generated_tests(tree, base_dir, located, where, item, config, errors, code, max_cases))
        elif isinstance(item, str):
            sources.extend(_tests_from_ref(tree, base_dir, located, where, item, errors))
        else:
            errors.add(located, where, "a test must be a mapping with vars and assert")
        if len(sources) > max_cases:  # before checking them, and without reading further test files
            errors.add(located, where, _too_many({}, 1, 0, max_cases))
            return []
    scenarios = _scenario_entries(tree, base_dir, located, errors)
    if hooks is not None and hooks.runs("beforeAll"):
        implicit = bool(sources) and sources[0][1] == () and sources[0][0] is located
        written = apply_before_all(hooks, located, Written((default_src, default_where, default), sources[implicit:], scenarios, implicit),
                                   data.get("metadata"), errors, max_cases)
        if written is None:
            return []
        sources, scenarios = ([(located, (), {})] if written.implicit else []) + written.tests, written.scenarios
        if written.default_changed:
            default_src, default_where, default = written.default
            if not isinstance(default, dict):
                errors.add(default_src, default_where, "defaultTest must be a mapping")
                return []
            dflt = _check_test(tree, base_dir, default_src, default_where, default, errors, is_default=True, max_var_bytes=max_var_bytes)
    sources.extend(_merged_scenarios(scenarios, errors))
    if len(sources) > max_cases:
        errors.add(located, ("scenarios",), _too_many({}, 1, 0, max_cases))
        return []
    out: list[TestSpec] = []
    views: list[dict[str, Any]] = []  # promptfoo's test as beforeEach gets it, per test of `out`
    each = hooks is not None and hooks.runs("beforeEach")
    for src, where, item in sources:
        spec = _check_test(tree, base_dir, src, where, item, errors, max_var_bytes=max_var_bytes)
        if spec is None:
            continue
        vars_ = {**dflt.vars, **spec.vars} if dflt else spec.vars
        # promptfoo merges defaultTest's options under the test's own
        expand_lists = spec.expand_lists if spec.expand_lists is not None else (dflt.expand_lists if dflt else None)
        default_asserts = spec.default_asserts if spec.default_asserts is not None else (dflt.default_asserts if dflt else None)
        count = _count_cases(vars_) if expand_lists is not False else 1
        factuality = spec.factuality if spec.factuality is not None else (dflt.factuality if dflt else None)
        if len(out) + count > max_cases:
            errors.add(src, where + (("vars",) if count > 1 else ()), _too_many(vars_, count, len(out), max_cases))
            break
        grader = spec.grader or (dflt.grader if dflt else None)
        embedder = spec.embedder or (dflt.embedder if dflt else None)
        # promptfoo merges options key by key: the test's options.provider replaces defaultTest's as a whole
        chooser = spec if spec.sets_grader or dflt is None else dflt
        named = chooser.grader or chooser.embedder
        classifier = Classifying(chooser.classifier, named.id if named is not None else None)
        rubric = spec.rubric_prompt if spec.rubric_prompt is not None else (dflt.rubric_prompt if dflt else None)
        for combo in (_expand_vars(vars_) if expand_lists is not False else [vars_]):
            inherited = dflt.asserts if dflt and default_asserts is not False else ()
            asserts = _bind_grading(inherited + spec.asserts, combo, embedder, rubric, errors, src, where, factuality, classifier)
            out.append(
                TestSpec(
                    index=len(out),
                    description=spec.description,
                    vars=combo,
                    asserts=asserts,
                    threshold=spec.threshold if spec.threshold is not None else (dflt.threshold if dflt else None),
                    metadata={**(dflt.metadata if dflt else {}), **spec.metadata},
                    grader=grader,
                    file=spec.file,
                    line=spec.line,
                    var_files={
                        k: path
                        for k, path in {**(dflt.var_files if dflt else {}), **spec.var_files}.items()
                        if k in spec.var_files or k not in spec.vars
                    },
                    var_code=tuple({
                        k: c for k, c in {**dict(dflt.var_code if dflt else ()), **dict(spec.var_code)}.items()
                        if k in dict(spec.var_code) or k not in spec.vars
                    }.items()),
                    transform=spec.transform or (dflt.transform if dflt else None),
                    transform_vars=spec.transform_vars or (dflt.transform_vars if dflt else None),
                    scoring=spec.scoring or (dflt.scoring if dflt else None),
                    classifier=classifier.grader, sets_grader=chooser.sets_grader,
                    store_output_as=spec.store_output_as,
                    providers=spec.providers if spec.providers is not None else (dflt.providers if dflt else None),
                    prompts=spec.prompts if spec.prompts is not None else (dflt.prompts if dflt else None),
                    prefix=spec.prefix or (dflt.prefix if dflt else ""),
                    suffix=spec.suffix or (dflt.suffix if dflt else ""),
                    hooks=tuple(dict.fromkeys(d.file for d in (src, default_src) if isinstance(d, HookOutput))),
                    provider=spec.provider or (dflt.provider if dflt else None),
                )
            )
            if each:
                views.append(test_view(item, default, combo, out[-1].var_files, base_dir))
    if each and hooks is not None and not errors.errors:
        def recheck(doc: LocatedYaml, at: Path, test: dict[str, Any]) -> TestSpec | None:
            spec = _check_test(tree, base_dir, doc, at, test, errors, max_var_bytes=max_var_bytes)
            if spec is None:
                return None
            asserts = _bind_grading(spec.asserts, spec.vars, spec.embedder, spec.rubric_prompt, errors, doc, at, spec.factuality)
            return replace(spec, asserts=asserts)

        return apply_before_each(hooks, out, views, located, errors, recheck) or []
    return out


class Classifying(NamedTuple):
    """The classification grader a test's options.provider gives `classifier`, and the id of the grader it
    names instead when it names no classification model (for the message)."""

    grader: ProviderSpec | None
    other: str | None


def _bind_grading(asserts, vars_, embedder, rubric, errors, src, where, factuality=None,
                  classifier: Classifying = Classifying(None, None)) -> tuple[AssertionSpec, ...]:
    """Model-graded assertions get what the test decides for them: the embedding grader (`similar`),
    the classification grader (`classifier`), the rubricPrompt, the factuality category scores, and the vars
    they read (query, context)."""
    out = []
    for a in asserts:
        base = a.base_type
        if a.is_set:  # its assertions get the same (an assert-set has no grader of its own)
            out.append(replace(a, children=_bind_grading(a.children, vars_, embedder, rubric, errors, src, where, factuality, classifier)))
            continue
        if base == "classifier" and a.grader is None:
            message = f"{a.type} (line {a.line}): " + (not_classifier(classifier.other) if classifier.other else
                      "needs a classification grader: set options.provider (of the test or defaultTest) or the assertion's "
                      "provider to huggingface:text-classification:MODEL or huggingface:token-classification:MODEL "
                      "(promptfoo has no default one and errors on every such case)")
            if classifier.grader is None and all(message not in str(e) for e in errors.errors):  # once, not per var combination
                errors.add(src, where, message)
            a = replace(a, grader=classifier.grader)
        if base in ("factuality", "model-graded-factuality") and factuality:
            a = replace(a, factuality=factuality)
        if base in SIMILAR_TYPES and a.grader is None and embedder is not None:
            a = replace(a, grader=embedder)
        if base in ("similar:dot", "similar:euclidean") and a.grader is not None and a.grader.option("api") == SIMILARITY_API:
            errors.add(src, where, f"{a.type} (line {a.line}): {a.grader.id} scores a pair of texts itself and gives no embeddings, so it "
                                   "measures cosine similarity only; use an embedding model (promptfoo fails every such case)")
        if base == "answer-relevance" and a.embedder is None and embedder is not None:
            a = replace(a, embedder=embedder)
        if base in GRADER_INPUTS:
            if a.rubric_prompt is None and rubric is not None:
                a = replace(a, rubric_prompt=rubric)
            if a.rubric_prompt is not None:
                filled, unknown = _fill_rubric_vars(a.rubric_prompt, vars_, STEP_VARS.get(base, ()))
                if unknown:
                    errors.add(src, where, f"the rubricPrompt of {a.type} (line {a.line}) uses {', '.join(sorted(set(unknown)))}, which is not a var of this test "
                                           "(the rendered prompt is not available to a rubricPrompt yet)")
                a = replace(a, rubric_prompt=filled)
            if base == "context-faithfulness" and a.rubric_prompt is not None and not a.rubric_prompt.lstrip().startswith("["):
                errors.add(src, where, f"{a.type} (line {a.line}): rubricPrompt must be a list of two prompts, statements then verdicts "
                                       "(promptfoo refuses other forms)")
            required, optional = GRADER_INPUTS[base]
            if a.context_transform is not None:  # its code gives the context (bot.evals.context_transform)
                required, optional = tuple(n for n in required if n != "context"), optional + ("context",)
            missing = [n for n in required if n not in vars_]
            if missing:
                errors.add(src, where, f"{a.type} (line {a.line}) reads the var{'s' if len(missing) > 1 else ''} {', '.join(missing)}: set it in the test's vars")
            inputs = tuple((n, _as_text(vars_[n])) for n in required + optional if n in vars_)
            if inputs:
                a = replace(a, inputs=inputs)
        out.append(a)
    return tuple(out)


def _scenario_entries(tree, base_dir, located, errors) -> list[tuple[LocatedYaml, Path, Any]]:
    """promptfoo's `scenarios` as written (a file:// entry read from its file)."""
    raw = located.data.get("scenarios")
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.add(located, ("scenarios",), "scenarios must be a list")
        return []
    scenarios: list[tuple[LocatedYaml, Path, Any]] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            scenarios.extend(_tests_from_ref(tree, base_dir, located, ("scenarios", i), item, errors))
        else:
            scenarios.append((located, ("scenarios", i), item))
    return scenarios


def _merged_scenarios(scenarios, errors) -> list[tuple[LocatedYaml, Path, Any]]:
    """promptfoo's `scenarios`: every `config` entry × every test of the scenario, the config's vars
    and assertions under the test's own."""
    out: list[tuple[LocatedYaml, Path, Any]] = []
    for src, where, sc in scenarios:
        scenario = check(Scenario, src, where, sc, errors)
        if scenario is None:
            continue
        for ci, conf in enumerate(scenario.config):
            for ti, test in enumerate(scenario.tests):
                merged = {**conf, **test}
                conf_vars, test_vars = conf.get("vars") or {}, test.get("vars") or {}
                if isinstance(conf_vars, dict) and isinstance(test_vars, dict):
                    merged["vars"] = {**conf_vars, **test_vars}
                elif conf_vars and test_vars:
                    at = where + (("config", ci, "vars") if not isinstance(conf_vars, dict) else ("tests", ti, "vars"))
                    errors.add(src, at, "a scenario's config vars and its test's vars are merged as mappings only (not file:// references)")
                    continue
                else:  # one side only: read as the test's vars (a malformed one is reported there)
                    merged["vars"] = conf_vars or test_vars
                conf_asserts, test_asserts = conf.get("assert") or [], test.get("assert") or []
                both_lists = isinstance(conf_asserts, list) and isinstance(test_asserts, list)
                # not a list on either side: reported as the test's `assert`
                merged["assert"] = conf_asserts + test_asserts if both_lists else test_asserts if isinstance(conf_asserts, list) else conf_asserts
                if isinstance(conf.get("options"), dict) and isinstance(test.get("options"), dict):
                    merged["options"] = {**conf["options"], **test["options"]}
                if "description" not in merged and isinstance(scenario.description, str):
                    merged["description"] = scenario.description
                out.append((src, where + ("tests", ti), merged))
    return out


def _count_cases(vars_: dict[str, Any]) -> int:
    """How many cases `_expand_vars` would make, without making them."""
    return math.prod(len(v) for v in vars_.values() if _expands(v))


def _expands(value: Any) -> bool:
    """promptfoo expands a list var whose first item is text; a list of objects (a chat history), of
    numbers, or an empty list is one value."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def _too_many(vars_: dict[str, Any], count: int, before: int, limit: int) -> str:
    raise_it = f"raise `limits.max_cases` in {CONFIG_PATH} (default {DEFAULT_MAX_CASES:,}) if they are all wanted"
    if count > 1:
        lists = " × ".join(f"{name} ({len(v)})" for name, v in vars_.items() if _expands(v))
        what = f"the list-valued vars expand this test into {count:,} cases ({lists})"
        if before:
            what += f", after {before:,} cases from the tests before it"
    else:
        what = f"the suite has more than {limit:,} tests"
    return f"{what}: over the limit of {limit:,} cases per suite; {raise_it}"


def _expand_vars(vars_: dict[str, Any]) -> list[dict[str, Any]]:
    """A list-valued var runs the test once per value (promptfoo's cartesian expansion)."""
    names = [k for k, v in vars_.items() if _expands(v)]
    if not names:
        return [vars_]
    return [{**vars_, **dict(zip(names, values))} for values in itertools.product(*(vars_[n] for n in names))]


def _is_path_entry(item: Any) -> bool:
    return isinstance(item, dict) and "path" in item and set(item) <= {"path", "config"} and isinstance(item["path"], str)


def _tests_from_ref(tree, base_dir, located, where, ref: str, errors) -> list[tuple[LocatedYaml, Path, Any]]:
    if not ref.startswith("file://"):
        if ref.startswith(("https://docs.google.com/spreadsheets", "gsheets://")):
            errors.add(located, where, "unsupported: remote test sheets (Google Sheets) are not part of prompt-review; export the sheet to CSV in the repository")
        elif ref.startswith(("huggingface://", "hf://")):
            errors.add(located, where, "unsupported: Hugging Face datasets are not part of prompt-review; commit the cases you need as CSV, JSONL or YAML")
        elif ref.startswith(("http://", "https://")):
            errors.add(located, where, "unsupported: remote test files are not part of prompt-review; commit them to the repository")
        elif "://" in ref:
            scheme = ref.split("://", 1)[0]
            errors.add(located, where, f"unsupported: tests from {scheme}:// are read from a remote service, which is not part of "
                                       "prompt-review; commit the cases to the repository (CSV, JSONL, JSON or YAML)")
        else:
            errors.add(located, where, "tests must be mappings or paths of test files")
        return []
    found = file_ref_paths(tree, base_dir, located, errors, where, ref, "a test generator")
    out: list[tuple[LocatedYaml, Path, Any]] = []
    for path in found:
        lower = path.lower()
        try:
            text = read_text(tree, path)
            if lower.endswith(".csv"):
                doc = _csv_tests(path, text)
            elif lower.endswith(".jsonl"):
                doc = _jsonl_tests(path, text)
            elif lower.endswith((".yaml", ".yml")):
                doc = load_yaml_kept(text, path)
            elif lower.endswith(".json"):
                doc = _json_tests(path, text)
            else:
                errors.add(located, where, f"test file {path} must be .yaml, .yml, .json, .jsonl or .csv")
                continue
        except UserError as exc:
            errors.extend(exc)
            continue
        items = doc.data if isinstance(doc.data, list) else [doc.data] if isinstance(doc.data, dict) else None
        if items is None and doc.data is None:  # an empty file: promptfoo 0.121 stops on it ("Expected a file path…")
            errors.errors.append(SourceError(path, "the test file is empty: a test file must hold a list of tests", 1))
            continue
        if items is None:
            errors.add(doc, (), "a test file must hold a list of tests")
            continue
        if isinstance(doc.data, list):
            out.extend((doc, (i,), t) for i, t in enumerate(items))
        else:
            out.append((doc, (), doc.data))
    return out


def _json_tests(path: str, text: str) -> LocatedYaml:
    """A .json test file read as YAML for its line numbers; by the JSON parser when YAML reads it
    otherwise (JSON escapes YAML refuses, such as lone surrogates), then lines are of the file only."""
    try:
        return load_yaml_kept(text, path)
    except UserError:
        doc = LocatedYaml(file=path, data=load_json(path, text))
        doc.lines[()] = 1
        return doc


def _jsonl_tests(path: str, text: str) -> LocatedYaml:
    """One test mapping per line (promptfoo's .jsonl test files)."""
    doc = LocatedYaml(file=path, data=[])
    doc.lines[()] = 1
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = load_json(path, line)
        except UserError as exc:
            raise UserError(SourceError(path, exc.errors[0].message, n)) from None
        doc.lines[(len(doc.data),)] = n
        doc.data.append(value)
    return doc


def _csv_tests(path: str, text: str) -> LocatedYaml:
    """CSV rows as test mappings; `__expected*` columns become assertions, the rest are vars."""
    reader = csv.DictReader(io.StringIO(text))
    doc = LocatedYaml(file=path, data=[])
    doc.lines[()] = 1
    for row in reader:
        i = len(doc.data)
        doc.lines[(i,)] = reader.line_num
        test: dict[str, Any] = {"vars": {}, "assert": []}
        metric = None
        per_assert: dict[int, dict[str, float]] = {}  # __config:__expectedN:threshold, by assertion index
        for column, value in row.items():
            if column is None:
                raise UserError(doc.error((i,), "row has more cells than the header"))
            column, value = column.strip(), value or ""
            if column.startswith("__expected"):
                if value.strip():
                    test["assert"].append(expected_to_assertion(value.strip()))
            elif column == "__description":
                test["description"] = value
            elif column == "__threshold":
                test["threshold"] = _csv_number(doc, i, column, value) if value.strip() else None
            elif column == "__metric":
                metric = value or None
            elif column.startswith("__metadata:"):
                key = column.split(":", 1)[1]
                if key.endswith("[]") and value.strip():  # a list: comma-separated, `\,` for a comma
                    test.setdefault("metadata", {})[key[:-2]] = [v.strip().replace("\\,", ",") for v in re.split(r"(?<!\\),", value)]
                elif value.strip():
                    test.setdefault("metadata", {})[key] = value
            elif column.startswith("__config:"):
                m = re.fullmatch(r"__config:__expected(\d*):(\w+)", column)
                if m is None or m.group(2) != "threshold" or m.group(1) == "0":
                    raise UserError(doc.error((i,), f"CSV column {column!r}: the form is __config:__expected:threshold "
                                                    "or __config:__expectedN:threshold"))
                per_assert[int(m.group(1) or 1) - 1] = {"threshold": _csv_number(doc, i, column, value)}
            elif column.startswith("__"):
                raise UserError(doc.error((i,), f"unsupported CSV column {column!r}"))
            else:
                test["vars"][column] = value
        for n, a in enumerate(test["assert"]):  # as promptfoo: by position among the non-empty __expected cells
            if metric is not None:
                a["metric"] = metric
            a.update(per_assert.get(n, {}))
        doc.data.append(test)
    return doc


def _csv_number(doc: LocatedYaml, i: int, column: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise UserError(doc.error((i,), f"CSV column {column!r}: {value!r} is not a number"))
    return number


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


def _without_ignored_keys(located: LocatedYaml, where: Path, item: dict, errors: Collector) -> dict:
    """A test less the keys promptfoo drops unread (its test schema and its test options keep any key and use only
    theirs: a team's own `tags`, a dataset's extra columns), each a warning once per file; a near miss of a key
    promptfoo reads (`asert`, `option`) stays an error, since dropping it would silently drop checks."""
    ignored = ignored_test_keys(item)
    options = item.get("options")
    ignored_options = ignored_test_options(options) if isinstance(options, dict) else []
    misses = grading_option_misses(options) if isinstance(options, dict) else []
    if not ignored and not ignored_options and not misses:
        return item
    for key, at, shown in [(k, where + (k,), k) for k in ignored] + [(k, where + ("options", k), f"options.{k}") for k in ignored_options]:
        errors.warn_once(located, at, shown, ignored_test_key(shown))
    for key, near in misses:
        errors.grading_misses.append((located, where + ("options", key), str(key), near))
    ignored_options += [key for key, _ in misses]
    kept = {k: v for k, v in item.items() if k not in ignored}
    if ignored_options:
        kept["options"] = {k: v for k, v in options.items() if k not in ignored_options}  # type: ignore[union-attr]
    return kept


def _check_test(tree, base_dir, located, where, item: dict, errors: Collector, is_default: bool = False,
                max_var_bytes: int = LimitsConfig().max_prompt_bytes) -> TestSpec | None:
    before = len(errors.errors)
    item = _without_ignored_keys(located, where, item, errors)
    entry = check(TestEntry, located, where, item, errors) or TestEntry()
    description = entry.description
    vars_ = entry.vars or {}
    if isinstance(vars_, (str, list)):
        # files (globs too; `file://` optional), merged in order; paths from the test's own file, as promptfoo
        refs = [vars_] if isinstance(vars_, str) else vars_
        merged: dict = {}
        for i, ref in enumerate(refs):
            at = where + ("vars",) if isinstance(vars_, str) else where + ("vars", i)
            ref = ref if ref.startswith("file://") else "file://" + ref
            merged.update(_vars_from_file(tree, posixpath.dirname(located.file), located, at, ref, errors))
        vars_ = merged
    var_files = {
        str(k): target
        for k, v in vars_.items()
        if isinstance(v, str) and v.startswith("file://") and not _is_glob(v)
        and (target := resolve(base_dir, v[len("file://"):])) is not None
    }
    var_codes = {
        str(k): code for k, v in vars_.items()
        if isinstance(v, str) and v.startswith("file://") and is_code_ref(v[len("file://"):])
        and (code := var_code(tree, base_dir, located, where + ("vars", k), v, errors)) is not None
    }
    vars_ = {str(k): _load_var(tree, base_dir, located, where + ("vars", k), v, errors, max_var_bytes) for k, v in vars_.items()}
    asserts = []
    for i, a in enumerate(entry.assert_ or []):
        spec = check_assertion(tree, base_dir, located, where + ("assert", i), a, errors)
        if spec is not None:
            asserts.append(spec)
    threshold = entry.threshold
    metadata = entry.metadata or {}
    grader = embedder = classifier = None
    sets_grader = False
    rubric: str | None = None
    transform = transform_vars = None
    store_as: str | None = None
    for key, value in (entry.options.given() if entry.options else {}).items():
        at = where + ("options", key)
        if key == "provider":
            grader, embedder, classifier = parse_grader(value, located, at, errors, tree, base_dir)
            sets_grader = True
        elif key == "rubricPrompt":
            rubric = rubric_prompt(value, located, at, errors, tree, base_dir)
        elif key in ("transform", "postprocess"):  # postprocess: promptfoo's older name of transform
            transform = transform_code(tree, base_dir, located, at, value, errors, f"options.{key}", as_written=True)
        elif key == "transformVars":
            transform_vars = transform_code(tree, base_dir, located, at, value, errors, "options.transformVars", vars_input=True)
        elif key == "storeOutputAs":
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z_]\w*", value):
                store_as = value
            else:
                errors.add(located, at, "storeOutputAs must be a var name (letters, digits, _)")
        # the other options TestOptions lets through pace and cache promptfoo's own run: no effect on a verdict
    options = entry.options
    own_provider = None if entry.provider is None else \
        parse_test_provider(tree, base_dir, located, where + ("provider",), entry.provider, errors)
    scoring = None if entry.assertScoringFunction is None else \
        scoring_code(tree, base_dir, located, where + ("assertScoringFunction",), entry.assertScoringFunction, errors)
    if len(errors.errors) > before and not is_default:
        return None
    return TestSpec(-1, description, vars_, tuple(asserts), threshold, dict(metadata), grader, located.file, located.line_of(where),
                    var_files, embedder, rubric, transform, transform_vars, store_as, var_code=tuple(var_codes.items()),
                    providers=None if entry.providers is None else tuple(entry.providers),
                    prompts=None if entry.prompts is None else tuple(entry.prompts),
                    prefix=(options.prefix or "") if options else "", suffix=(options.suffix or "") if options else "",
                    factuality=_factuality_scores(options.factuality) if options and options.factuality else None,
                    provider=own_provider,
                    expand_lists=None if options is None or options.disableVarExpansion is None else not options.disableVarExpansion,
                    default_asserts=None if options is None or options.disableDefaultAsserts is None else not options.disableDefaultAsserts,
                    scoring=scoring, classifier=classifier, sets_grader=sets_grader)


def _factuality_scores(scores: FactualityScores) -> tuple[tuple[str, float], ...]:
    """Each category's score (A–E), promptfoo's default where the test sets none."""
    given = scores.given()
    return tuple((letter, float(given[name]) if given.get(name) is not None else default) for letter, name, default in FACTUALITY_CATEGORIES)


def _is_glob(ref: str) -> bool:
    return any(ch in ref for ch in "*?[")


def _vars_from_file(tree, base_dir, located, where, ref: str, errors) -> dict:
    """`vars: file://vars.yaml` — the test's vars from a YAML/JSON mapping."""
    inner = ref[len("file://"):]
    if is_code_ref(inner):
        errors.add(located, where, code_refusal("a vars generator"))
        return {}
    found = expand_refs(tree, base_dir, inner) if _is_glob(inner) else [resolve(base_dir, inner)]
    if isinstance(found, str):
        errors.add(located, where, found)
        return {}
    merged: dict = {}
    for target in found:
        if target is None or tree.read(target) is None or not target.lower().endswith((".yaml", ".yml", ".json")):
            errors.add(located, where, f"vars file {inner!r} not found (vars from a file must be a .yaml/.yml/.json mapping)")
            return {}
        try:
            data = yaml_or_json(target, read_text(tree, target, errors.max_file_bytes))
        except UserError as exc:
            errors.extend(exc)
            return {}
        except FileTooLarge as exc:
            errors.add(located, where, _var_too_large(exc))
            return {}
        if not isinstance(data, dict):
            errors.add(located, where, f"vars file {target!r} must hold a mapping of name → value")
            return {}
        merged.update(data)
    return merged


def _load_var(tree, base_dir, located, where, value: Any, errors: Collector, limit: int) -> Any:
    """A var's value; a `file://` var is read only up to `limit` bytes (limits.max_prompt_bytes)."""
    if isinstance(value, str) and value.startswith("file://"):
        ref = value[len("file://"):]
        if is_code_ref(ref):  # computed by code when the case is expanded (TestSpec.var_code); read by var_code
            return value
        if _is_glob(ref):  # one value per matching file: the test runs once per file (promptfoo)
            found = expand_refs(tree, base_dir, ref)
            if isinstance(found, str):
                errors.add(located, where, found)
                return ""
            values = []
            for path in found:
                try:
                    values.append(_media_value(tree, path, limit) if is_media(path) else read_text(tree, path, limit))
                except FileTooLarge as exc:
                    errors.add(located, where, _var_too_large(exc))
                except UserError as exc:
                    errors.extend(exc)
            return values
        target = resolve(base_dir, ref)
        try:  # the size is checked before the file is read
            raw = None if target is None else read_bounded(tree, target, limit)
        except FileTooLarge as exc:
            errors.add(located, where, _var_too_large(exc))
            return ""
        if target is None or raw is None:
            errors.add(located, where, f"var file {ref!r} not found")
            return ""
        if is_media(target):  # promptfoo passes an image as a data: URL, video or audio as its base64 text
            return media_value(target, raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:  # promptfoo reads a PDF as its text (pdf-parse); prompt-review does not
            errors.add(located, where, f"unsupported: var file {ref!r} is not text (a PDF or another binary file); "
                                       "prompt-review reads text, images, video and audio var files")
            return ""
    return value


# promptfoo's isImageFile / isVideoFile / isAudioFile: these var files are read as base64 (its renderPrompt)
MEDIA_EXTS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "svg",
                        "mp4", "webm", "ogg", "mov", "avi", "wmv", "mkv", "m4v",
                        "wav", "mp3", "aac", "m4a", "flac", "wma", "aiff", "opus"})


def is_media(path: str) -> bool:
    return path.rsplit(".", 1)[-1].lower() in MEDIA_EXTS


def is_image(path: str) -> bool:
    return path.rsplit(".", 1)[-1].lower() in ("jpg", "jpeg", "png", "gif", "bmp", "webp", "svg")


# promptfoo's getMimeTypeFromExtension, then detectMimeFromBase64: the data's magic number wins
_IMAGE_MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp",
               "webp": "image/webp", "svg": "image/svg+xml"}
_MAGIC_MIME = (("/9j/", "image/jpeg"), ("iVBORw0KGgo", "image/png"), ("R0lGODlh", "image/gif"), ("R0lGODdh", "image/gif"),
               ("UklGR", "image/webp"), ("Qk0", "image/bmp"), ("Qk1", "image/bmp"), ("SUkq", "image/tiff"), ("TU0A", "image/tiff"),
               ("AAABAA", "image/x-icon"))


def media_value(path: str, raw: bytes) -> str:
    """A media var file's value as promptfoo 0.121's renderPrompt gives it: an image is a
    `data:MIME;base64,…` URL (the MIME type from the data's magic number, else the extension), a video
    or audio file its bare base64 text."""
    data = base64.b64encode(raw).decode("ascii")
    if not is_image(path):
        return data
    mime = next((m for prefix, m in _MAGIC_MIME if data.startswith(prefix)), _IMAGE_MIME[path.rsplit(".", 1)[-1].lower()])
    return f"data:{mime};base64,{data}"


def _media_value(tree, path: str, limit: int) -> str:
    raw = read_bounded(tree, path, limit)
    if raw is None:
        raise UserError(SourceError(path, f"var file {path!r} not found"))
    return media_value(path, raw)


def _var_too_large(exc: FileTooLarge) -> str:
    return (f"var file {exc.path} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
            f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})")


