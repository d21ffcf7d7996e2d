"""Assertions of a suite: which types and keys are accepted (promptfoo's names), their values checked
when the suite is loaded so a bad regex or schema is reported with its line, graders and rubric
prompts; and the one wording of a refusal for code from the pull request.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import replace
from typing import Any, NamedTuple

import jsonschema

from bot.core.config import CONFIG_PATH
from bot.core.errors import UserError
from bot.core.yamlsrc import Path, load_yaml
from bot.evals import markup, metrics, sql, tool_f1
from bot.evals.classifier import CLASSIFY_APIS, EMBED_APIS, is_task_id
from bot.evals.context_transform import CONTEXT_TYPES
from bot.evals.providers_config import parse_provider as _parse_provider
from bot.evals.sources import Collector, FileTooLarge, is_code_ref, read_bounded, read_text, resolve, yaml_or_json
from bot.evals.patterns import PatternError, compile_pattern
from bot.evals.sandbox import JsCode, SandboxError, code_for
from bot.evals.sandbox.js_modules import link
from bot.evals.sandbox.py import PyCode
from bot.evals.sandbox.py_modules import SANDBOX_MODULES, link_python
from bot.evals.suite import AssertionSpec, Code, ProviderSpec

ASSERT_KEYS = {"type", "value", "threshold", "weight", "metric", "provider", "rubricPrompt", "config", "transform"}
# Read by nothing, in promptfoo as here: suites write what an assertion is for (`reason: should cite the policy`).
NOTE_KEYS = {"reason", "description"}
# keys that read as part of the check (its expected value, bounds, grader): promptfoo drops them unread and the assertion
# then checks something else than its author meant — errors; any other key promptfoo drops is a warning
CHECK_LIKE_ASSERT_KEYS = frozenset({"expected", "expect", "expected_output", "expectedOutput", "values", "pattern", "regex",
                                    "text", "answer", "score", "min", "max", "minimum", "maximum", "schema", "rubric",
                                    "criteria", "model", "grader", "assert", "not", "negate", "inverse", "case_sensitive",
                                    "caseSensitive", "ignoreCase", "ignore_case"})

# what a near miss is measured against: every key an assertion may have
_KNOWN_ASSERT_KEYS = sorted(ASSERT_KEYS | NOTE_KEYS | {"contextTransform"})
DETERMINISTIC = {
    "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
    "regex", "starts-with", "is-json", "contains-json", "levenshtein", "latency", "cost", "finish-reason",
    "is-valid-openai-tools-call", "is-valid-openai-function-call", "is-valid-function-call",  # the provider's tools/functions
    "is-sql", "contains-sql",  # bot.evals.sql
    "is-xml", "contains-xml", "is-html", "contains-html", "is-refusal",  # bot.evals.markup
    "tool-call-f1",  # bot.evals.tool_f1
    "perplexity", "perplexity-score",  # bot.evals.perplexity: the answer's token log-probabilities
}
TOOL_CALL_TYPES = {"is-valid-openai-tools-call", "is-valid-openai-function-call", "is-valid-function-call"}
# graded by a model (the suite's grader: options.provider); RUBRIC_TYPES read a rubricPrompt
MODEL_GRADED = {
    "llm-rubric", "similar", "factuality", "model-graded-factuality", "model-graded-closedqa", "g-eval",
    "answer-relevance", "context-faithfulness", "context-recall", "context-relevance", "conversation-relevance",
    "classifier",  # graded by a classification model (options.provider: huggingface:text-/token-classification)
    "similar:cosine", "similar:dot", "similar:euclidean",  # similar by another measure of the embeddings
}
SIMILAR_TYPES = frozenset({"similar", "similar:cosine", "similar:dot", "similar:euclidean"})
# vars a model-graded type reads (promptfoo's names); missing ones are an error at load time
GRADER_INPUTS = {  # (required, optional)
    "answer-relevance": ((), ("query",)),
    "context-faithfulness": (("context",), ("query",)),
    "context-recall": ((), ("context", "query")),  # promptfoo: without a context var, the rendered prompt
    "context-relevance": (("query", "context"), ()),
    "factuality": ((), ("query",)), "model-graded-factuality": ((), ("query",)), "model-graded-closedqa": ((), ("query",)),
    "g-eval": ((), ("query",)), "llm-rubric": ((), ()),
    "conversation-relevance": ((), ("_conversation",)),  # promptfoo's list of {input, output} turns
}
NEEDS_VALUE = {"select-best", *SIMILAR_TYPES, "factuality", "model-graded-factuality", "model-graded-closedqa", "g-eval", "context-recall", "finish-reason"}
# compare the outputs of all cases of one test (bot.evals.comparisons); select-best asks the grader
COMPARISON = {"select-best", "max-score"}
DETERMINISTIC |= metrics.TYPES  # bleu, gleu, rouge-n, meteor, word-count (bot.evals.metrics)
SUPPORTED = DETERMINISTIC | MODEL_GRADED | COMPARISON
CODE_TYPES = {"python", "javascript", "ruby"}
RUN_CODE_TYPES = {"python", "javascript"}  # run in bot.evals.sandbox (docs/sandbox.md); ruby is refused
NOT_PART = {
    "webhook": "webhook assertions send outputs to an arbitrary URL and trust its answer",
    "moderation": "vendor moderation (OpenAI/Azure/Llama Guard moderation APIs) is not part of prompt-review",
    "pi": "pi scorer assertions call Pi Labs' service; not part of prompt-review",
    "guardrails": "guardrails assertions read a vendor's guardrail verdict; not part of prompt-review",
}
# promptfoo 0.121 types that read what prompt-review's providers never produce (by prefix for the families)
NEEDS_MORE = {
    "human": "human is graded by a person in promptfoo's web viewer after the run; a review has no one to grade it",
    "skill-used": "skill-used reads the skills an agent SDK provider (Claude Agent SDK) reports having run; prompt-review runs no agent providers",
    "agent-rubric": "agent-rubric is graded by an agent (openai:codex-sdk, anthropic:claude-agent-sdk, opencode:sdk, …) that runs "
                    "tools and code on this machine; prompt-review runs no agent graders",
    "search-rubric": "search-rubric is graded by a model that searches the web while grading (promptfoo picks a grader with a "
                     "web search tool); prompt-review's graders do not search",
    "trace-": "{kind} reads the OpenTelemetry spans the provider emitted while answering (promptfoo's tracing receiver); "
              "prompt-review collects no traces of a case",
    "trajectory:": "{kind} reads the tool calls and steps of an agent's OpenTelemetry trace (promptfoo's tracing receiver); "
                   "prompt-review collects no traces of a case",
}
GRADER_MAP_KEYS = {"text", "embedding", "classification", "moderation"}


def needs_more(base: str) -> str | None:
    """Why prompt-review cannot run a promptfoo type that needs a grader, provider or trace it does not have."""
    for name, why in NEEDS_MORE.items():
        if base == name or (name.endswith(("-", ":")) and base.startswith(name)):
            return why.format(kind=base)
    return None


def code_refusal(what: str) -> str:
    """The message for code in a form prompt-review does not run at all (a generator, a scoring function)."""
    return (f"refused: executes code from the PR ({what}) — prompt-review runs code only as javascript/python "
            "assertions and transforms, in its sandbox (docs/sandbox.md)")


def load_code(tree, base_dir: str, located, where: Path, language: str, value: Any, errors: Collector, what: str) -> Code | None:
    """The code a javascript/python assertion or transform stands for, read from this side's tree (files
    past `limits.max_prompt_bytes` are refused unread). Whether it may run is decided per side later
    (bot.evals.select: the base's code always; the PR's by `evals.run_pr_code`)."""
    if not isinstance(value, str) or not value.strip():
        errors.add(located, where, f"{what}: needs code (inline text, or file://path.js / file://path.py[:function])")
        return None
    too_large: list[FileTooLarge] = []

    def read(path: str) -> str | None:
        target = resolve(base_dir, path)
        if target is None:
            return None
        try:
            raw = read_bounded(tree, target, errors.max_file_bytes)
        except FileTooLarge as exc:
            too_large.append(exc)
            return ""
        return None if raw is None else raw.decode("utf-8", errors="replace")

    try:
        code = code_for(language, value, read, lambda path: resolve(base_dir, path) or path)  # type: ignore[arg-type]
    except SandboxError as exc:
        errors.add(located, where, f"{what}: {exc.message}")
        return None
    if too_large:
        big = too_large[0]
        errors.add(located, where, f"{what}: {big.path} is {big.size:,} bytes, over the limit of {big.limit:,} "
                                   f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})")
        return None
    if code.file is not None:
        code = replace(code, file=resolve(base_dir, code.file))
        return linked(code, tree, located, where, errors, what)
    return linked(code, tree, located, where, errors, what) if isinstance(code, PyCode) else code  # its libraries


def linked(code: Code, tree, located, where: Path, errors: Collector, what: str) -> Code | None:
    """JavaScript with the repository's files it requires by relative path (bot.evals.sandbox.js_modules), Python with
    the repository's modules it imports (bot.evals.sandbox.py_modules), read from the same side's tree; None when a
    require is refused or a module is past the bounds (the problem, with the file's line, is in `errors`)."""
    if code.file is None and not isinstance(code, PyCode):
        return code
    try:
        if isinstance(code, PyCode):
            return link_python(code, tree, errors.max_file_bytes, SANDBOX_MODULES)
        return link(code, tree, errors.max_file_bytes)
    except SandboxError as exc:
        errors.add(located, where, f"{what}: {exc.message}")
        return None


def transform_code(tree, base_dir: str, located, where: Path, value: Any, errors: Collector, what: str,
                   vars_input: bool = False, as_written: bool = False) -> Code | None:
    """A transform: inline JavaScript (promptfoo's default), or file://x.js / file://x.py[:function].

    Inline, one line is an expression and several lines a function body (promptfoo); its input is named
    `output`, or `vars` for transformVars (`vars_input`). With `vars_input` or `as_written`, a body is told from an
    expression exactly as promptfoo tells it (a newline anywhere in the text as written)."""
    language = "javascript"
    if isinstance(value, str) and value.strip().startswith("file://"):
        ref = value.strip()[len("file://"):]
        language = "python" if ref.split(":", 1)[0].endswith(".py") else "javascript"
        code = load_code(tree, base_dir, located, where, language, value, errors, what)
        if code is not None and language == "python" and code.function is None:
            code = replace(code, function="get_transform")  # promptfoo's default for a Python transform file
        return code
    code = load_code(tree, base_dir, located, where, language, value, errors, what)
    if code is None or not isinstance(value, str) or not (vars_input or as_written):
        return code
    # promptfoo looks for a newline in the code as written: a `|` block of one line is a function body too
    if as_written:  # a body on its own lines (its line numbers stay the suite's); the `;` keeps a one-line body a body
        return type(code).inline(value.rstrip() + "\n;" if "\n" in value else f"return {value.strip()}\n;")
    body = value.strip() if "\n" in value else f"return {value.strip()}"
    return type(code).inline(f"return (function (vars, context) {{\n{body}\n}})(output, context)")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_as_text(v) for v in value)
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class Graders(NamedTuple):
    """options.provider read per grading type, as promptfoo picks a grader for each: `text` for the
    model-graded types, `embedding` for `similar` (and answer-relevance's vectors), `classification`
    for `classifier`."""

    text: ProviderSpec | None = None
    embedding: ProviderSpec | None = None
    classification: ProviderSpec | None = None


def parse_grader(value: Any, located, where: Path, errors, tree=None, base_dir: str = "") -> Graders:
    """options.provider: one grader, or promptfoo's map per grading type ({text: …, embedding: …, classification: …}).
    With the side's `tree`, a grader written in code (file://x.js, file://x.py) is read from it, relative to `base_dir`."""
    code = None if tree is None else (lambda at, ref, what: transform_code(tree, base_dir, located, at, ref, errors, what))

    def parse_provider(item: Any, located: Any, where: Path, errors: Any, embedding: bool = False) -> ProviderSpec | None:
        return _parse_provider(item, located, where, errors, embedding=embedding, grader_code=code)

    if isinstance(value, dict) and "id" not in value and value and set(value) <= {"config", "label"}:
        errors.add(located, where, "a grader needs an `id` (a provider such as openai:chat:gpt-4.1); settings alone "
                                   "name no model (promptfoo 0.121 ends every graded case with \"Invalid provider definition\" on it)")
        return Graders()
    if isinstance(value, dict) and "id" in value and "embedding" in value:  # a grader, and its embedding model beside it
        text_spec = parse_provider({k: v for k, v in value.items() if k != "embedding"}, located, where, errors)
        emb = parse_provider(value["embedding"], located, where + ("embedding",), errors, embedding=True)
        return Graders(text_spec, emb)
    if isinstance(value, dict) and value and "id" not in value and set(value) <= GRADER_MAP_KEYS:
        text = parse_provider(value["text"], located, where + ("text",), errors) if "text" in value else None
        emb = parse_provider(value["embedding"], located, where + ("embedding",), errors, embedding=True) if "embedding" in value else None
        classification = None
        if "classification" in value:
            classification = parse_provider(value["classification"], located, where + ("classification",), errors, embedding=True)
            if classification is not None and classification.option("api") not in CLASSIFY_APIS:
                errors.add(located, where + ("classification",), not_classifier(classification.id))
                classification = None
        if "moderation" in value:
            errors.add(located, where + ("moderation",), "unsupported: a moderation grader is not part of prompt-review (vendor moderation APIs)")
        return Graders(text, emb, classification)
    pid = value if isinstance(value, str) else value.get("id") if isinstance(value, dict) else None
    embedding = isinstance(pid, str) and ("embedding" in pid or is_task_id(pid))
    spec = parse_provider(value, located, where, errors, embedding=embedding)
    if spec is not None and spec.option("api") in CLASSIFY_APIS:
        return Graders(classification=spec)
    if spec is not None and spec.option("api") in EMBED_APIS:
        return Graders(embedding=spec)
    return Graders(text=spec)


def not_classifier(pid: str) -> str:
    return (f"provider {pid!r} is not a classification provider: a classifier's grader is huggingface:text-classification:MODEL "
            "or huggingface:token-classification:MODEL (promptfoo refuses any other)")


_RUBRIC_VARS = re.compile(r"{{\s*([^}]*?)\s*}}|{%")


def _rubric_messages_ok(messages: list[Any]) -> bool:
    """{role, content} messages; a content is text or content parts (images beside the text, as promptfoo sends them)."""
    def content_ok(content: Any) -> bool:
        return isinstance(content, str) or (isinstance(content, list) and bool(content) and all(isinstance(p, (dict, str)) for p in content))

    return all(isinstance(m, dict) and content_ok(m.get("content")) and m.get("role") in ("system", "user", "assistant") for m in messages)


def rubric_prompt(value: Any, located, where: Path, errors, tree=None, base_dir: str = "") -> str | None:
    """A rubricPrompt: text, or a chat message list (kept as JSON text), inline or from a file:// (.txt
    text; .json/.yaml a message list, as promptfoo loads it). It may use {{ output }} and {{ rubric }}
    (filled in without a template engine); anything else would be read differently."""
    if isinstance(value, str) and value.startswith("file://") and tree is not None:
        path = resolve(base_dir, value[len("file://"):])
        if path is None or is_code_ref(value):
            errors.add(located, where, f"rubricPrompt {value}: must be a .txt, .json or .yaml file inside the repository")
            return None
        try:
            if read_bounded(tree, path, errors.max_file_bytes) is None:
                errors.add(located, where, f"rubricPrompt file {path} not found")
                return None
            text = read_text(tree, path, errors.max_file_bytes)
            value = yaml_or_json(path, text) if path.lower().endswith((".json", ".yaml", ".yml")) else text
        except UserError as exc:
            errors.extend(exc)
            return None
        except FileTooLarge as exc:
            errors.add(located, where, f"rubricPrompt file {path} is {exc.size:,} bytes, over the limit of {exc.limit:,}")
            return None
    if isinstance(value, dict) and value and set(value) <= {"steps", "evaluate"} and all(isinstance(v, str) for v in value.values()):
        value = json.dumps(value, ensure_ascii=False)  # g-eval's prompt per step
    elif isinstance(value, list) and 0 < len(value) <= 2 and all(isinstance(v, str) for v in value):
        value = json.dumps(value, ensure_ascii=False)  # context-faithfulness's prompts: statements, then verdicts
    elif isinstance(value, list):
        if not _rubric_messages_ok(value):
            errors.add(located, where, "rubricPrompt must be text or a list of {role, content} messages")
            return None
        value = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        errors.add(located, where, "rubricPrompt must be text or a list of {role, content} messages")
        return None
    if value.lstrip().startswith("["):  # a message list written as JSON text
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and any(isinstance(m, dict) and isinstance(m.get("content"), list) for m in parsed) \
                and not _rubric_messages_ok(parsed):
            errors.add(located, where, "rubricPrompt must be text or a list of {role, content} messages")
            return None
    if value.startswith("file://"):
        errors.add(located, where, "unsupported: a rubricPrompt file is not supported yet; write the rubricPrompt inline")
        return None
    for m in _RUBRIC_VARS.finditer(value):
        name = (m.group(1) or "").split("|")[0].strip()
        filt = (m.group(1) or "").split("|")[1].strip() if "|" in (m.group(1) or "") else "dump"
        if m.group(0) == "{%" or not re.fullmatch(r"[A-Za-z_]\w*", name) or (m.group(1) or "").count("|") > 1 or (
                filt != "dump" and not re.fullmatch(r'join\(\s*(\\?"[^"]*\\?"|\'[^\']*\')\s*\)', filt)):
            errors.add(located, where, "unsupported: rubricPrompt may use {{ name }}, {{ name | dump }} and {{ name | join(\"sep\") }} only "
                                       "(output, rubric, the values of the assertion's steps and the test's vars)")
            return None
    return value


# the values a multi-step check puts into its own prompts (promptfoo's names): they stay for the grader
STEP_VARS = {
    "g-eval": ("criteria", "steps", "maxScore", "input"),
    "answer-relevance": ("answer",),
    "context-recall": ("groundTruth",),
    "context-faithfulness": ("question", "answer", "statements"),
}


def _fill_rubric_vars(template: str, vars_: dict, keep: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """The test's vars put into a rubricPrompt at load time; output, rubric and a step's `keep` stay for the grader."""
    import json

    missing: list[str] = []

    def one(m: re.Match) -> str:
        inner = m.group(1) or ""
        name = inner.split("|")[0].strip()
        if name in ("output", "rubric") or name in keep:
            return m.group(0)
        if name not in vars_:
            missing.append(name)
            return m.group(0)
        text = _as_text(vars_[name])
        return json.dumps(text, ensure_ascii=False) if "|" in inner else text

    try:  # a message list: fill each content, so quotes in a var cannot break the JSON
        messages = json.loads(template)
    except ValueError:
        messages = None
    if isinstance(messages, (list, dict)):  # every text in a message, content parts (text, image URLs) included
        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return _RUBRIC_VARS.sub(one, value)
            if isinstance(value, list):
                return [fill(v) for v in value]
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        return json.dumps(fill(messages), ensure_ascii=False), missing
    return _RUBRIC_VARS.sub(one, template), missing


def check_assertion(tree, base_dir, located, where: Path, raw: Any, errors: Collector, in_set: bool = False) -> AssertionSpec | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        errors.add(located, where, "an assertion needs a `type`")
        return None
    kind = raw["type"]
    base = kind[4:] if kind.startswith("not-") else kind
    if base == "assert-set":
        return _assert_set(tree, base_dir, located, where, raw, errors, in_set)
    if in_set and base in COMPARISON:
        errors.add(located, where + ("type",), f"unsupported: {kind} inside an assert-set (promptfoo never runs it there: it compares "
                                               "the outputs of a test's cases from the test's own assertions); move it to the test's assert")
        return None
    if base in CODE_TYPES - RUN_CODE_TYPES:
        errors.add(located, where + ("type",), f"refused: {kind}: executes code prompt-review does not run (it runs javascript and python assertions, in its sandbox)")
        return None
    if base in NOT_PART:
        errors.add(located, where + ("type",), f"unsupported: {kind}: {NOT_PART[base]}")
        return None
    if (why := needs_more(base)) is not None:
        errors.add(located, where + ("type",), f"unsupported: {kind}: {why}")
        return None
    if base in COMPARISON and kind != base:
        errors.add(located, where + ("type",), f"unsupported assertion type {kind!r}: {base} has no not- form (it passes the best case of the test)")
        return None
    if base not in SUPPORTED and base not in RUN_CODE_TYPES:
        errors.add(located, where + ("type",), f"unsupported assertion type {kind!r} (supported: {', '.join(sorted(SUPPORTED))} and their not- forms)")
        return None
    ok = True
    for key in raw:
        if key in ASSERT_KEYS or key in NOTE_KEYS:
            continue
        if base == "meteor" and key in metrics.METEOR_KEYS:
            errors.add(located, where + (key,), metrics.METEOR_KEYS_REFUSAL.format(key=key))
        elif key == "contextTransform" and base in CONTEXT_TYPES:
            continue  # read below, as code
        elif key == "contextTransform":
            errors.add(located, where + (key,), f"unsupported: contextTransform on {kind}: it gives the context of "
                                                f"{', '.join(sorted(CONTEXT_TYPES))} only (promptfoo reads it nowhere else); remove it")
        elif not (near := difflib.get_close_matches(str(key), _KNOWN_ASSERT_KEYS, n=1)) and isinstance(key, str) \
                and key not in CHECK_LIKE_ASSERT_KEYS and key not in metrics.METEOR_KEYS:
            # promptfoo's assertion schema drops it and it does not read as part of the check (a label, a name)
            errors.warn_once(located, where + (key,), f"assert.{key}", f"ignored assertion key {key!r} (promptfoo's assertions "
                                                                        f"read only {', '.join(sorted(ASSERT_KEYS))} and drop any "
                                                                        "other key; so does prompt-review)")
            continue
        else:
            hint = (f" (did you mean {near[0]!r}?)" if near else
                    "; promptfoo drops it and the assertion checks nothing it says: the check's value is `value`, its "
                    "bar `threshold`, its grader `provider`")
            errors.add(located, where + (key,), f"unknown assertion key {key!r}{hint} (supported: {', '.join(sorted(ASSERT_KEYS))})")
        ok = False
    value = raw.get("value")
    transform = None
    if raw.get("transform") is not None:
        transform = transform_code(tree, base_dir, located, where + ("transform",), raw["transform"], errors, f"{kind} transform",
                                   as_written=True)
        ok = ok and transform is not None
    context_transform = None
    if base in CONTEXT_TYPES and "contextTransform" in raw:
        context_transform = transform_code(tree, base_dir, located, where + ("contextTransform",), raw["contextTransform"], errors,
                                           f"{kind} contextTransform", as_written=True)
        ok = ok and context_transform is not None
    if base in RUN_CODE_TYPES:
        code = load_code(tree, base_dir, located, where + ("value",), base, value, errors, f"{kind} assertion")
        return _spec(raw, kind, value, code, transform, located, where, errors, ok and code is not None, tree, base_dir)
    if isinstance(value, str) and value.startswith("file://"):
        ref = value[len("file://"):]
        target = resolve(base_dir, ref)
        if is_code_ref(ref):
            errors.add(located, where + ("value",), code_refusal(f"{base} assertion value {value}"))
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
    if base in ("is-json", "contains-json") and isinstance(value, str):
        value = _schema_text(value)  # promptfoo reads a text value as a JSON (or YAML) schema
    if base in ("is-json", "contains-json") and (value is False or (type(value) in (int, float) and value == 0)):
        value = None  # promptfoo checks a schema only for a value JavaScript holds true: `value: false` is none
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
    if base in ("latency", "cost") and threshold is None:
        errors.add(located, where, f"{kind}: needs a threshold ({'milliseconds' if base == 'latency' else 'US dollars'})")
        ok = False
    return _spec(raw, kind, value, None, transform, located, where, errors, ok, tree, base_dir, context_transform)


SET_KEYS = {"type", "assert", "weight", "metric", "threshold", "config"}  # promptfoo's AssertionSetSchema


def _assert_set(tree, base_dir, located, where: Path, raw: dict, errors: Collector, in_set: bool) -> AssertionSpec | None:
    """assert-set: a group of assertions scored together (their weighted mean; all must pass, or the mean must
    reach the set's `threshold`), whose result counts as one assertion of the test with the set's `weight` and
    `metric`. promptfoo runs one level only: a set inside a set ends its cases with "Unknown assertion type"."""
    kind = raw["type"]
    if kind != "assert-set":
        errors.add(located, where + ("type",), f"unsupported assertion type {kind!r}: assert-set has no not- form (promptfoo ends "
                                               f"every such case with \"Unknown assertion type: {kind}\")")
        return None
    if in_set:
        errors.add(located, where + ("type",), "unsupported: an assert-set inside an assert-set (promptfoo runs one level of sets and ends "
                                               "every such case with \"Unknown assertion type: assert-set\"); list its assertions in the outer set")
        return None
    ok = True
    for key in raw:
        if key not in SET_KEYS:
            errors.add(located, where + (key,), f"unknown assert-set key {key!r} (an assert-set takes {', '.join(sorted(SET_KEYS))}; "
                                                "the other assertion keys go on the assertions inside it)")
            ok = False
    children_raw = raw.get("assert")
    if not isinstance(children_raw, list):
        errors.add(located, where + (("assert",) if "assert" in raw else ()), "assert-set needs `assert`, a list of assertions")
        return None
    for name in ("weight", "threshold"):
        number = raw.get(name)
        if number is not None and (not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0):
            errors.add(located, where + (name,), f"{name} must be a non-negative number")
            ok = False
    metric = raw.get("metric")
    if metric is not None and not isinstance(metric, str):
        errors.add(located, where + ("metric",), "metric must be text")
        ok = False
    config = raw.get("config")
    if config is not None and not isinstance(config, dict):
        errors.add(located, where + ("config",), "config must be a mapping")
        ok = False
    children = []
    for j, child in enumerate(children_raw):
        spec = check_assertion(tree, base_dir, located, where + ("assert", j), child, errors, in_set=True)
        ok = ok and spec is not None
        if spec is not None:
            children.append(spec)
    if not ok:
        return None
    return AssertionSpec("assert-set", None, raw.get("threshold"), float(raw.get("weight", 1.0)), metric, None, located.file,
                         located.line_of(where), config=config, children=tuple(children))


def _spec(raw, kind, value, code, transform, located, where, errors, ok, tree=None, base_dir: str = "",
          context_transform: Code | None = None) -> AssertionSpec | None:
    """The common keys (weight, threshold, metric, grader, rubricPrompt, config) of any assertion."""
    base = kind[4:] if kind.startswith("not-") else kind
    weight = raw.get("weight", 1.0)
    threshold = raw.get("threshold")
    if base in RUN_CODE_TYPES:  # checked above for the other types
        for name, number in (("weight", weight), ("threshold", threshold)):
            if number is not None and (not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0):
                errors.add(located, where + (name,), f"{name} must be a non-negative number")
                ok = False
    metric = raw.get("metric")
    grader: ProviderSpec | None = None
    embedder: ProviderSpec | None = None
    if raw.get("provider") is not None:
        graders = parse_grader(raw["provider"], located, where + ("provider",), errors, tree, base_dir)
        grader, emb = graders.text, graders.embedding
        grader = emb if base in SIMILAR_TYPES and emb is not None else grader
        embedder = emb if base == "answer-relevance" else None
        if base == "classifier":
            grader, named = graders.classification, graders.text or graders.embedding
            if grader is None and named is not None:
                errors.add(located, where + ("provider",), f"{kind}: " + not_classifier(named.id))
                ok = False
    rubric = None
    if raw.get("rubricPrompt") is not None:
        rubric = rubric_prompt(raw["rubricPrompt"], located, where + ("rubricPrompt",), errors, tree, base_dir)
        ok = ok and rubric is not None
    config = raw.get("config")
    if config is not None and not isinstance(config, dict):
        errors.add(located, where + ("config",), "config must be a mapping")
        ok = False
    if not ok:
        return None
    return AssertionSpec(kind, value, threshold, float(weight), str(metric) if metric is not None else None, grader, located.file,
                         located.line_of(where), rubric, config, code=code, transform=transform, embedder=embedder,
                         context_transform=context_transform)


def _schema_text(value: str) -> Any:
    stripped = value.strip()
    if not stripped:
        return None
    try:
        return load_yaml(stripped, "<schema>").data
    except UserError:
        return value


MAX_SCORE_KEYS = {"method", "weights", "threshold"}


def max_score_problem(value: Any) -> str | None:
    """What is wrong with a max-score value, checked when the suite is loaded (None: fine)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return "value must be a mapping (method, weights, threshold) or absent"
    unknown = sorted(set(value) - MAX_SCORE_KEYS)
    if unknown:
        return f"unknown key {unknown[0]!r} (max-score reads method, weights and threshold)"
    if value.get("method", "average") not in ("average", "sum"):
        return "method must be average or sum"
    weights = value.get("weights", {})
    if not isinstance(weights, dict) or not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights.values()):
        return "weights must map assertion types to numbers"
    threshold = value.get("threshold")
    if threshold is not None and (not isinstance(threshold, (int, float)) or isinstance(threshold, bool)):
        return "threshold must be a number"
    return None


def _whitelist_problem(value: Any) -> str | None:
    """is-sql whitelist entries are regexes (node-sql-parser reads them so): each must compile."""
    for key in ("allowedTables", "allowedColumns"):
        for entry in value.get(key) or () if isinstance(value, dict) else ():
            try:
                compile_pattern(f"(?i)^(?:{entry})$")
            except PatternError as exc:
                return f"{key} entry {entry!r} is not a valid regular expression: {exc}"
    return None


def _value_problem(base: str, value: Any) -> str | None:
    if base in metrics.TYPES:
        return metrics.value_problem(base, value)
    if base == "tool-call-f1":
        return tool_f1.value_problem(value)
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
    if base in ("latency", "cost") or base in TOOL_CALL_TYPES:
        return None
    if base in ("is-sql", "contains-sql"):
        return sql.parse_value(value)[1] or _whitelist_problem(value)
    if base in ("is-xml", "contains-xml"):
        return markup.required_elements(value)[1]
    if base in ("is-html", "contains-html", "is-refusal", "perplexity", "perplexity-score"):
        return None  # promptfoo reads no value
    if base == "max-score":
        return max_score_problem(value)
    if value is None:
        return "needs a value" if base in NEEDS_VALUE or base in DETERMINISTIC else None
    if base == "regex":
        if not isinstance(value, str):
            return "value must be a regular expression"
        if "{{" in value or "{%" in value:
            return None  # a template: checked once the test's vars are rendered in (bot.evals.select)
        try:
            compile_pattern(value)
        except PatternError as exc:
            return f"invalid regular expression: {exc}"
    if base == "equals" and not isinstance(value, (str, int, float, bool, dict, list)):
        return "value must be text or JSON"
    if base in ("select-best", "contains", "icontains", "starts-with", "levenshtein", "llm-rubric", "factuality", "model-graded-factuality",
                "model-graded-closedqa", "context-recall", "finish-reason") and not isinstance(value, (str, int, float)):
        return "value must be text"
    if base == "g-eval" and not isinstance(value, (str, list)):
        return "value must be text or a list of criteria"
    if base == "classifier" and not isinstance(value, str):
        return "value must be the name of a label (text), or absent for the highest score of any label"
    if base in SIMILAR_TYPES and (not isinstance(value, (str, list)) or value == []):
        return "value must be text or a list of texts" + (" (promptfoo refuses an empty list)" if value == [] else "")
    return None

