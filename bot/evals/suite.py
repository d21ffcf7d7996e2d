"""The typed form of a loaded promptfoo-format suite (what the loader produces, the runner consumes)."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from bot.evals.providers_ws import MESSAGE_VAR, fill_message
from bot.evals.sandbox.js import JsCode
from bot.evals.sandbox.py import PyCode

Code = Union[JsCode, PyCode]  # suite code (javascript/python): run in bot.evals.sandbox, gated by its origin
SUITE_NAMES = ("promptfooconfig.yaml", "promptfooconfig.yml")


@dataclass(frozen=True)
class PromptSpec:
    label: str
    template: str  # raw template text (jinja2), or the JSON/YAML message list for chat prompts
    # chat-template: a JSON message list rendered as a whole, then read; function: `code` makes the prompt
    format: Literal["text", "chat", "chat-template", "function"]
    source: str | None  # repo path of the prompt file; None for an inline prompt
    messages: tuple[tuple[str, str], ...] = ()  # chat prompts: (role, content template) pairs
    line: int | None = None
    # promptfoo's per-prompt `config`: provider settings over the provider's own. Not part of the prompt's
    # identity (its values may be mappings); a case sees it in its provider's fingerprint (ProviderSpec.for_prompt).
    config: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    code: Code | None = None  # a prompt function (format "function"), run in the sandbox under the code gate
    # an inline prompt's `id` beside its `raw` text: promptfoo keeps it, and filters (a provider's or a test's `prompts`)
    # match it as they match the label. Not part of the prompt's identity
    name: str | None = field(default=None, compare=False)


_BODY_VAR = re.compile(r"{{\s*([A-Za-z_]\w*)\s*}}")


def _names(template: str) -> set[str]:
    return {m.group(1) for m in MESSAGE_VAR.finditer(template)}


def _var_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def prompt_ref_matches(ref: str, label: str) -> bool:
    """A provider's `prompts:` entry names a prompt as promptfoo matches them: its label, a `prefix*`,
    or the label of a file that holds several prompts (`ref#1`, `ref#2`, … here; `ref: …` in promptfoo)."""
    if ref.endswith("*"):
        return label.startswith(ref[:-1])
    return label == ref or label.startswith((f"{ref}#", f"{ref}:"))


def prompt_matches(ref: str, prompt: PromptSpec) -> bool:
    """A `prompts:` filter entry names `prompt` by its label or, as promptfoo's doesPromptRefMatch, by its id."""
    return prompt_ref_matches(ref, prompt.label) or (prompt.name is not None and prompt_ref_matches(ref, prompt.name))


def provider_ref_matches(ref: str, provider: ProviderSpec) -> bool:
    """A test's `providers:` entry names a provider as promptfoo matches them: its label or id, a
    `prefix*` of either, or a prefix up to a colon (`openai` names `openai:chat:gpt-4o`)."""
    names = [n for n in (provider.label, provider.id) if n]
    if ref in names:
        return True
    if ref.endswith("*") and any(n.startswith(ref[:-1]) for n in names):
        return True
    return any(n.startswith(f"{ref}:") for n in names)


@dataclass(frozen=True)
class ProviderSpec:
    id: str  # as written, e.g. 'openai:chat:gpt-4o'
    kind: str  # the vendor (bot.evals.providers_config.VENDORS): openai, anthropic, azure, google, bedrock, …
    model: str
    label: str | None = None
    params: tuple[tuple[str, Any], ...] = ()  # temperature, max_tokens, … sorted by name
    base_url: str | None = None  # config.apiBaseUrl
    line: int | None = None
    # where the request goes beyond the base URL, sorted by name: ('api', 'responses'), ('region', …),
    # an http provider's url/method/headers/body/transformResponse
    options: tuple[tuple[str, Any], ...] = ()
    prompts: tuple[str, ...] = ()  # labels of the prompts this provider runs (promptfoo's provider `prompts:`); () = all
    # code applied to every answer before the test's options.transform (bot.evals.provider_output), run in the
    # sandbox under the code gate: an http provider's JavaScript `transformResponse` (called with json, text,
    # context), then the provider's `transform` (promptfoo's provider-level output transform)
    response_transform: Code | None = None
    transform: Code | None = None
    # a websocket provider's `streamResponse`: run by the Caller on every frame until it says the answer is complete
    stream_response: Code | None = None
    # a provider written in code (kind "code": file://x.js, file://x.py[:call_api]): it answers the prompt itself,
    # run in the sandbox per call (bot.evals.providers_code) under the same code gate
    code: Code | None = None
    # a SageMaker provider's `config.transform`: the rendered prompt → the prompt sent (promptfoo's prompt transform),
    # run when the case is expanded (bot.evals.select), under the code gate
    prompt_transform: Code | None = None
    # promptfoo's `functionToolCallbacks` (OpenAI chat/responses, Azure): function name → the JavaScript run with a
    # tool call's arguments when the model calls that function (bot.evals.tool_callbacks), under the code gate
    tool_callbacks: tuple[tuple[str, Code], ...] = ()
    # an http provider's `transformRequest`: (prompt, vars, context) → the prompt its body gets, run when the case is
    # expanded (bot.evals.providers_request), under the code gate
    request_transform: Code | None = None
    # the body that transform made for one case (set when the case is expanded; the wire sends it as it is). Not part
    # of the provider's identity: it follows from the case's prompt, vars and the transform's code, all in the case's
    # fingerprint, and a prompt change must not read as a provider change
    request_body: Any = field(default=None, compare=False)
    # a Realtime provider's earlier turns of the conversation this case continues (promptfoo keeps one session across
    # the tests with a metadata.conversationId): their messages, replayed on the case's connection before its own
    # (bot.evals.realtime_turns). Part of the case's fingerprint, not of the provider's identity
    conversation: tuple[Any, ...] = field(default=(), compare=False)
    # an http provider's `validateStatus`: status → whether the answer counts (promptfoo: every status does when it is
    # not set), run on each answer (bot.evals.provider_output) under the code gate
    status_check: Code | None = None
    # an http provider's queryParams and the vars its headers use, rendered for one case (bot.evals.http_config). Not part
    # of the provider's identity, like request_body: they follow from the case's prompt and vars and the templates
    call_values: dict[str, Any] | None = field(default=None, compare=False)

    def runs(self, prompt: PromptSpec) -> bool:
        return not self.prompts or any(prompt_matches(ref, prompt) for ref in self.prompts)

    @property
    def slot(self) -> str:
        """How a provider is recognised across base and head: its label, else its id."""
        return self.label or self.id

    def fingerprint(self) -> dict[str, Any]:
        out = {"kind": self.kind, "model": self.model, "params": [list(p) for p in self.params], "base_url": self.base_url}
        if self.options:  # absent when empty: fingerprints (cache keys) of existing suites stay the same
            out["options"] = [list(o) for o in self.options]
        for what, code in self.code_items():  # the code's text: editing it re-runs the provider's cases
            out[what] = code_fingerprint(code)
        return out

    def code_items(self) -> tuple[tuple[str, Code], ...]:
        """(what, code) this provider runs on its answers, named for a refusal and a change reason."""
        return tuple((what, code) for what, code in (("code", self.code), ("transformResponse", self.response_transform),
                                                     ("transform", self.transform), ("streamResponse", self.stream_response),
                                                     ("prompt transform", self.prompt_transform),
                                                     ("transformRequest", self.request_transform),
                                                     ("validateStatus", self.status_check)) if code is not None) + tuple(
            (f"tool callback {name}", code) for name, code in self.tool_callbacks)

    def code_changes(self, other: "ProviderSpec") -> list[str]:
        """'transform', 'transformResponse': the provider's code that differs between self and other."""
        mine, theirs = dict(self.code_items()), dict(other.code_items())
        callbacks = sorted({w for w in [*mine, *theirs] if w.startswith("tool callback ")})
        return [w for w in ("code", "transformResponse", "transform", "streamResponse", "prompt transform", "transformRequest",
                           "validateStatus", *callbacks)
                if (mine.get(w) and code_fingerprint(mine[w])) != (theirs.get(w) and code_fingerprint(theirs[w]))]

    def for_prompt(self, prompt: "PromptSpec") -> "ProviderSpec":
        """This provider as it runs `prompt`: the prompt's `config` over the provider's (as promptfoo merges them)."""
        if not prompt.config or (self.option("api") == "image" and self.kind in ("replicate", "google")):
            return self  # promptfoo's Replicate and Imagen image providers read their own config only
        return dataclasses.replace(self, params=tuple(sorted({**dict(self.params), **dict(prompt.config)}.items())))

    def with_vars(self, vars_: dict[str, Any]) -> "ProviderSpec":
        """An http provider's `body` with the test's `{{ var }}`s filled in (promptfoo renders the body with
        the vars); `{{ prompt }}` stays for the call. A var the test lacks is empty text, as in nunjucks."""
        if self.kind == "websocket":  # its messageTemplate, the same way (bot.evals.providers_ws)
            template = str(self.option("messageTemplate", ""))
            filled = fill_message(template, vars_, only=_names(template) - {"prompt"})
            return dataclasses.replace(self, options=tuple(sorted({**dict(self.options), "messageTemplate": filled}.items())))
        body = self.option("body")
        if self.kind != "http" or body is None or "{{" not in json.dumps(body) or self.option("raw"):  # raw: filled escaped, later
            return self

        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return _BODY_VAR.sub(lambda m: m.group(0) if m.group(1) == "prompt" else _var_text(vars_.get(m.group(1), "")), value)
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value

        return dataclasses.replace(self, options=tuple(sorted({**dict(self.options), "body": fill(body)}.items())))

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def describe_change(self, other: "ProviderSpec") -> str:
        """'model gpt-4o → gpt-4.1; temperature 0 → 0.7' (self = base, other = head)."""
        parts = []
        if self.kind != other.kind:
            parts.append(f"provider {self.kind} → {other.kind}")
        if self.model != other.model:
            parts.append(f"model {self.model} → {other.model}")
        before, after = dict(self.params), dict(other.params)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                parts.append(f"{name} {_show(before.get(name))} → {_show(after.get(name))}")
        if self.base_url != other.base_url:
            parts.append(f"apiBaseUrl {_show(self.base_url)} → {_show(other.base_url)}")
        before_o, after_o = dict(self.options), dict(other.options)
        for name in sorted(set(before_o) | set(after_o)):
            if before_o.get(name) != after_o.get(name):
                parts.append(f"{name} {_show(before_o.get(name))} → {_show(after_o.get(name))}")
        return "; ".join(parts)


def code_fingerprint(code: Code) -> list[Any]:
    out: list[Any] = ["python" if isinstance(code, PyCode) else "javascript", code.file, code.function, written(code)]
    if required(code):  # only when it requires files: fingerprints (cache keys) of other code stay the same
        out.append([list(m) for m in required(code)])
    return out


def code_identity(code: Code) -> tuple[str, str | None, str, tuple[tuple[str, str], ...]]:
    """What makes code the same code for `origin_of`: its language, file and exact text, and every file it requires
    with its text (not the function called in it: calling another function of the base's own file runs only base
    code)."""
    return ("python" if isinstance(code, PyCode) else "javascript", code.file, written(code), required(code))


def required(code: Code) -> tuple[tuple[str, str], ...]:
    """(path, text as written) of every repository file the code requires by relative path (bot.evals.sandbox.js_modules)
    or, for Python, imports (bot.evals.sandbox.py_modules; a namespace folder has no file)."""
    return tuple((m.path, m.written) for m in code.modules if m.path)


def module_identities(code: Code) -> set[tuple[str, str, str]]:
    """The required files as the code gate knows them: a helper the base has with the same text is the base's."""
    return {("module", path, text) for path, text in required(code)}


def written(code: Code) -> str:
    """The code's text as the suite wrote it: a TypeScript file's own text, not the JavaScript it became."""
    return code.written if isinstance(code, JsCode) and code.written is not None else code.source


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value) if not isinstance(value, (int, float, str)) else str(value)


# factuality's categories: the grader's letter, promptfoo's name in options.factuality, the default score
FACTUALITY_CATEGORIES = (("A", "subset", 1.0), ("B", "superset", 1.0), ("C", "agree", 1.0), ("D", "disagree", 0.0),
                         ("E", "differButFactual", 1.0))


# the model-graded types scored in several grader calls (bot.evals.graded_steps)
STEPPED_GRADED = frozenset({"g-eval", "answer-relevance", "context-recall", "context-relevance", "context-faithfulness"})


@dataclass(frozen=True)
class AssertionSpec:
    type: str  # including a 'not-' prefix
    value: Any = None
    threshold: float | None = None
    weight: float = 1.0
    metric: str | None = None
    grader: ProviderSpec | None = None  # per-assertion grader override (model-graded types)
    file: str = ""
    line: int | None = None
    rubric_prompt: str | None = None  # rubricPrompt (assertion, else test/defaultTest options): the grader's prompt
    config: Any = None  # assertion `config` (promptfoo passes it to the check; read by the types that use it)
    # the test's vars a model-graded check reads (query, context, …): fixed when the suite is loaded
    inputs: tuple[tuple[str, str], ...] = ()
    code: Code | None = None  # javascript/python assertions: the code to run (inline text, or the file's text)
    transform: Code | None = None  # the assertion's own `transform` of the output
    factuality: tuple[tuple[str, float], ...] = ()  # factuality: the scores of categories A–E (options.factuality)
    embedder: ProviderSpec | None = None  # answer-relevance: the embedding grader (options.provider.embedding)
    # context-*: `contextTransform`, code whose result is the context (bot.evals.context_transform)
    context_transform: Code | None = None
    # assert-set: its assertions, scored as a group whose result is one assertion of the test (bot.evals.assertions)
    children: tuple[AssertionSpec, ...] = ()

    @property
    def negated(self) -> bool:
        return self.type.startswith("not-")

    @property
    def base_type(self) -> str:
        return self.type[4:] if self.negated else self.type

    @property
    def is_set(self) -> bool:
        return self.type == "assert-set"

    def describe(self) -> str:
        """'icontains "30 days"' — how a failed assertion is named in the comment."""
        if self.is_set:
            return f"assert-set of {len(self.children)}" + (f" ({self.metric})" if self.metric else "")
        if self.value is None:
            return self.type
        value = self.value if isinstance(self.value, str) else json.dumps(self.value, sort_keys=True)
        if len(value) > 80:
            value = value[:77] + "…"
        return f'{self.type} "{value}"' if isinstance(self.value, str) else f"{self.type} {value}"

    def fingerprint(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "value": self.value,
            "threshold": self.threshold,
            "weight": self.weight,
            "metric": self.metric,
            "grader": self.grader.fingerprint() if self.grader else None,
            # only when set, so the cache keys of suites that do not use them stay the same
            **({"rubric_prompt": self.rubric_prompt} if self.rubric_prompt is not None else {}),
            **({"config": self.config} if self.config is not None else {}),
            **({"inputs": [list(i) for i in self.inputs]} if self.inputs else {}),
            # a code file's text: editing the file changes what judges the case (and its cache key)
            **({"code": code_fingerprint(self.code)} if self.code is not None and self.code.file else {}),
            **({"transform": code_fingerprint(self.transform)} if self.transform is not None else {}),
            **({"factuality": [list(c) for c in self.factuality]} if self.factuality else {}),
            **({"embedder": self.embedder.fingerprint()} if self.embedder else {}),
            **({"context_transform": code_fingerprint(self.context_transform)} if self.context_transform is not None else {}),
            # scored in steps since promptfoo's algorithms: results cached by the one-call grader are not reused
            **({"graded_in_steps": 1} if self.base_type in STEPPED_GRADED else {}),
            **({"children": [c.fingerprint() for c in self.children]} if self.is_set else {}),
        }

    def code_items(self) -> tuple[tuple[str, Code], ...]:
        """(what, code) this assertion runs, named for a refusal: 'javascript assertion'."""
        items = ((f"{self.base_type} assertion", self.code), (f"{self.type} transform", self.transform),
                 (f"{self.type} contextTransform", self.context_transform))
        out = tuple((what, code) for what, code in items if code is not None)
        # a grader written in code (promptfoo's custom provider as the grader): run in the sandbox when it grades
        graders = tuple((f"{self.type} grader {g.id}", g.code) for g in (self.grader, self.embedder) if g is not None and g.code is not None)
        grader_transforms = tuple((f"{self.type} grader {g.id} transform", g.prompt_transform)  # a SageMaker grader's, run when it grades
                                  for g in (self.grader, self.embedder) if g is not None and g.prompt_transform is not None)
        return out + graders + grader_transforms + tuple(i for c in self.children for i in c.code_items())

    def flat(self) -> tuple[AssertionSpec, ...]:
        """This assertion, or an assert-set's assertions."""
        return self.children if self.is_set else (self,)


@dataclass(frozen=True)
class TestSpec:
    index: int
    description: str | None
    vars: dict[str, Any]
    asserts: tuple[AssertionSpec, ...]
    threshold: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    grader: ProviderSpec | None = None  # options.provider (test, else defaultTest)
    file: str = ""
    line: int | None = None
    # var name → repo path for `file://` vars: the file is a dependency like a prompt include
    # (e.g. a system prompt passed in as a var), not literal test data.
    var_files: dict[str, str] = field(default_factory=dict)
    # options.provider's `embedding:` grader and options.rubricPrompt; load_tests binds both into the
    # assertions that use them (they are part of each assertion's fingerprint there)
    embedder: ProviderSpec | None = None
    rubric_prompt: str | None = None
    transform: Code | None = None  # options.transform (or postprocess): the output before the assertions
    transform_vars: Code | None = None  # options.transformVars: the vars before the prompt is rendered
    # options.storeOutputAs: the var later tests get this test's output in (the suite then runs in order)
    store_output_as: str | None = None
    # the test's `providers` / `prompts` filters (promptfoo's): only the providers and prompts they name
    # run it; None runs it on all, an empty list on none
    providers: tuple[str, ...] | None = None
    prompts: tuple[str, ...] | None = None
    # options.prefix / options.suffix: text around the prompt's template before it is rendered
    prefix: str = ""
    suffix: str = ""
    # options.disableVarExpansion / options.disableDefaultAsserts, as the test (or defaultTest) set them
    expand_lists: bool | None = None
    default_asserts: bool | None = None
    # options.factuality: category (A–E) → score, as set by the test or defaultTest; load_tests binds it
    factuality: tuple[tuple[str, float], ...] | None = None
    # vars computed by code (`context: file://load_context.py`): (name, code), run when the case is expanded,
    # after options.transformVars, as get_var(name, prompt, other_vars); the var's value is its file:// ref until then
    var_code: tuple[tuple[str, Code], ...] = ()
    # assertScoringFunction (the test's, else defaultTest's): gets the named scores and assertion results and gives
    # the test's verdict (bot.evals.scoring), run in the sandbox under the code gate
    scoring: Code | None = None
    # options.provider's classification grader (huggingface:text-/token-classification), bound into `classifier`
    # assertions by load_tests; sets_grader: the test (not only defaultTest) gave options.provider
    classifier: ProviderSpec | None = None
    sets_grader: bool = False
    # the extension hook files whose beforeAll/beforeEach changed this test (bot.evals.hooks): named as a change reason
    hooks: tuple[str, ...] = ()
    # the test's own `provider` (the test's, else defaultTest's): it answers the test's cases in place of each suite
    # provider (bot.evals.test_provider)
    provider: ProviderSpec | None = None

    def runs_on(self, prompt: PromptSpec, provider: ProviderSpec) -> bool:
        return ((self.prompts is None or any(prompt_matches(ref, prompt) for ref in self.prompts))
                and (self.providers is None or any(provider_ref_matches(ref, provider) for ref in self.providers)))


@dataclass(frozen=True)
class Suite:
    path: str
    description: str
    prompts: tuple[PromptSpec, ...]
    providers: tuple[ProviderSpec, ...]
    tests: tuple[TestSpec, ...]
    # `nunjucksFilters`: (name, the JavaScript file's code), called from templates in the sandbox under the code gate
    filters: tuple[tuple[str, Code], ...] = ()
    filters_line: int | None = None  # the suite line of `nunjucksFilters`
    # the files of its `extensions` (hooks run while it loads, bot.evals.hooks): what it depends on, like a test generator
    extensions: tuple[str, ...] = ()
    # (path, requiring file) of the repository files its load-time code (generators, hooks) requires by relative path
    helpers: tuple[tuple[str, str], ...] = ()
    # the files its providers' settings were read from (`config: {tools: file://tools.json}`, a Python provider's config
    # code): what it depends on, so a PR changing one alone is under review
    setting_files: tuple[str, ...] = ()
    # (path, reading file) of what its load-time JavaScript looked at through `fs` (read, found missing, listed):
    # dependencies, so a PR changing only the data a generator or hook reads is under review
    reads: tuple[tuple[str, str], ...] = ()
