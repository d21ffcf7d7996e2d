"""The shape of a promptfoo suite file as pydantic models: the keys each mapping may hold, the keys
refused (code) or out of scope, and the words a user reads for each problem. The loader and the
test-case reader read the parsed YAML through `check`, which turns the models' errors into SourceErrors
with file and line (`pydantic_errors`); what a value *means* (files, globs, code gating) stays with them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, GetCoreSchemaHandler, ModelWrapValidatorHandler, Strict
from pydantic import ValidationError, model_validator
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from bot.core.config import CONFIG_PATH
from bot.core.yamlsrc import LocatedYaml, Path, pydantic_errors
from bot.evals.checks import code_refusal
from bot.evals.sources import Collector

# The error type of every problem worded here for a user; pydantic's own (naming Python types) are
# reworded by the `Says` around them.
WORDED = "prompt_review"


def _worded(message: str) -> PydanticCustomError:
    return PydanticCustomError(WORDED, message)  # no context: the message is used as written, braces and all


def _rebuilt(title: str, errors: list[Any], reword: Callable[[Any], str | None]) -> ValidationError:
    """The same errors, those `reword` gives words for in those words (same location)."""
    details: list[InitErrorDetails] = []
    for e in errors:
        message = reword(e)
        if message is None and e["type"] != WORDED:
            detail: InitErrorDetails = {"type": e["type"], "loc": e["loc"], "input": e["input"]}
            if "ctx" in e:
                detail["ctx"] = e["ctx"]
            details.append(detail)
        else:
            details.append({"type": _worded(e["msg"] if message is None else message), "loc": e["loc"], "input": e["input"]})
    return ValidationError.from_exception_data(title, details)


@dataclass(frozen=True)
class Says:
    """What a user reads when a value is not of its type, instead of pydantic's words (which name Python
    types). Problems inside the value already worded for a user (an unknown key of a nested mapping, a
    refused key) are kept as they are, each at its own line."""

    message: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        def in_words(value: Any, inner: core_schema.ValidatorFunctionWrapHandler) -> Any:
            try:
                return inner(value)
            except ValidationError as exc:
                kept = [e for e in exc.errors() if e["type"] == WORDED]
                if len(kept) == len(exc.errors()):
                    raise
                if not kept:
                    raise _worded(self.message) from None
                raise _rebuilt(exc.title, [{"type": WORDED, "loc": (), "msg": self.message, "input": value}, *kept],
                               lambda e: None) from None

        return core_schema.no_info_wrap_validator_function(in_words, handler(source))


@dataclass(frozen=True)
class Rejected:
    """A key promptfoo has and prompt-review does not take (code it does not run, a feature out of its
    scope): being there at all is the problem, whatever its value."""

    message: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        def reject(value: Any) -> Any:
            raise _worded(self.message)

        return core_schema.no_info_plain_validator_function(reject)


class Shape(BaseModel):
    """A mapping of a promptfoo suite: a key that is not a field is a problem worded by `unknown_key`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def keys(cls) -> list[str]:
        """Every key the mapping may hold, by its promptfoo name, rejected ones too."""
        return sorted(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def supported(cls) -> list[str]:
        """The keys the mapping may hold without being rejected, by their promptfoo names."""
        return sorted(field.alias or name for name, field in cls.model_fields.items()
                      if not any(isinstance(m, Rejected) for m in field.metadata))

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unknown key {key!r} (supported: {', '.join(cls.supported())})"

    def given(self) -> dict[str, Any]:
        """The keys the file set, by their promptfoo names, with their values."""
        return {field.alias or name: getattr(self, name) for name, field in type(self).model_fields.items() if name in self.model_fields_set}

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_keys_in_its_words(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            def reword(e: Any) -> str | None:
                unknown = e["type"] in ("extra_forbidden", "invalid_key") and len(e["loc"]) == 1
                return cls.unknown_key(e["loc"][0]) if unknown else None

            raise _rebuilt(exc.title, exc.errors(), reword) from None


M = TypeVar("M", bound=Shape)


def check(model: type[M], located: LocatedYaml, where: Path, data: Any, errors: Collector) -> M | None:
    """`data` (the value at `where` in `located`) read as `model`, each problem added to `errors` with
    its line, in the order of the keys in the file. With problems, the model of the keys that are
    well-formed, so the rest of the mapping is still checked; None when nothing of it is."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found = list(zip(exc.errors(), pydantic_errors(located, exc, where)))
    position = {key: i for i, key in enumerate(data)} if isinstance(data, dict) else {}
    found.sort(key=lambda pair: position.get(pair[0]["loc"][0], -1) if pair[0]["loc"] else -1)
    errors.errors.extend(error for _, error in found)
    if not isinstance(data, dict) or any(not e["loc"] for e, _ in found):
        return None
    kept = data
    for e, _ in found:
        kept = _without(kept, e["loc"])
    try:
        return model.model_validate(kept)
    except ValidationError:
        return None


def _without(data: dict[Any, Any], loc: tuple[str | int, ...]) -> dict[Any, Any]:
    """`data` without the value of the deepest mapping key along `loc` (a copy; the located data is shared)."""
    key, rest = loc[0], loc[1:]
    if key not in data:  # a missing key, or one pydantic cannot name (not text): keep only the text keys
        return {k: v for k, v in data.items() if isinstance(k, str)}
    inner = data[key]
    if rest and isinstance(inner, dict) and rest[0] in inner:
        return {**data, key: _without(inner, rest)}
    return {k: v for k, v in data.items() if k != key}


# ---- the top level -----------------------------------------------------------------------------


def _repeat_once(value: Any) -> Any:
    if value not in (None, 1):
        raise _worded(f"unsupported: evaluateOptions.repeat; set evals.repeats in {CONFIG_PATH} (the base branch decides)")
    return value


class EvaluateOptions(Shape):
    """promptfoo's evaluateOptions: those that only pace its own run are read and ignored; `repeat`
    changes results, so the base branch's `evals.repeats` decides it."""

    maxConcurrency: Any = None
    delay: Any = None
    showProgressBar: Any = None
    cache: Any = None
    timeoutMs: Any = None
    maxEvalTimeMs: Any = None
    generateSuggestions: Any = None
    interactiveProviders: Any = None
    silent: Any = None
    repeat: Annotated[Any, AfterValidator(_repeat_once)] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unsupported: evaluateOptions.{key} is not part of prompt-review"


# mathjs expressions of derivedMetrics: names, numbers, operators and calls — validated, never evaluated
_MATHJS = re.compile(r"^[\w\s.+\-*/^%(),<>=!?:&|]*$")


class DerivedMetric(Shape):
    """A promptfoo report figure (mathjs over named metrics); it never decides a verdict."""

    model_config = ConfigDict(extra="ignore")  # read as promptfoo's own report would; other keys change nothing

    name: str
    value: Any

    @model_validator(mode="after")
    def _mathjs_only(self) -> DerivedMetric:
        # read once the metric has a name and a value: a mathjs expression, validated, never evaluated
        value = self.value
        if not isinstance(value, str) or not _MATHJS.match(value) or "=>" in value or re.search(r"\bfunction\b", value):
            message = "refused: derivedMetrics value: executes code from the PR (only mathjs expressions over metric names are read)"
            raise ValidationError.from_exception_data("DerivedMetric", [{"type": _worded(message), "loc": ("value",), "input": value}])
        return self


_NEEDS_NAME_AND_VALUE = "a derived metric needs a `name` and a `value` (a mathjs expression)"


class SuiteFile(Shape):
    """A suite file (promptfooconfig.yaml) at its top level. prompts, providers and tests are read by
    their own stages (loader.load_prompts, load_providers, testcases.load_tests)."""

    description: Annotated[str | None, Says("description must be text")] = None
    prompts: Any = None
    providers: Any = None
    targets: Any = None  # promptfoo's other name of providers
    tests: Any = None
    defaultTest: Any = None
    scenarios: Any = None
    derivedMetrics: Annotated[
        list[Annotated[DerivedMetric, Says(_NEEDS_NAME_AND_VALUE)]] | None, Says("derivedMetrics must be a list of {name, value}")
    ] = None
    evaluateOptions: Annotated[EvaluateOptions | None, Says("evaluateOptions must be a mapping")] = None
    # only promptfoo's own output, UI or tracing: they cannot change a result
    outputPath: Any = None
    sharing: Any = None
    writeLatestResults: Any = None
    tags: Any = None
    schema_: Any = Field(None, alias="$schema")
    metadata: Any = None
    tracing: Any = None
    assertionTemplates: Any = None  # reached through $ref
    extensions: Annotated[Any, Rejected(
        "refused: extensions: executes code from the PR (extension hooks are JavaScript/Python files)")] = None
    nunjucksFilters: Annotated[Any, Rejected(
        "refused: nunjucksFilters: executes code from the PR (custom nunjucks filters are JavaScript files)")] = None
    env: Annotated[Any, Rejected(
        "unsupported: suite-level env is not part of prompt-review: credentials and base URLs come from the service environment only")] = None
    redteam: Annotated[Any, Rejected(
        "unsupported: redteam is not part of prompt-review (red-team generation and grading); keep red-team configs out of the reviewed suites")] = None
    commandLineOptions: Annotated[Any, Rejected(
        "unsupported: commandLineOptions is not part of prompt-review; set evals options in .github/prompt-review.yml (evals:)")] = None


# ---- a prompt -------------------------------------------------------------------------------------


class PromptEntry(Shape):
    """A prompt given as a mapping in `prompts`; its text or file:// is read by loader.load_prompts."""

    id: Any = None  # the text or file://…; with `raw`, only its name
    raw: Any = None
    label: Annotated[str | None, Says("a prompt's label must be text")] = None
    # request settings sent with this prompt to every provider (loader._check_prompt_config)
    config: Annotated[dict[str, Any], Says("a prompt's config must be a mapping")] = Field(default_factory=dict)
    function: Annotated[Any, Rejected("refused: prompt key 'function': executes code from the PR (a prompt function)")] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unsupported prompt key {key!r} (supported: {', '.join(cls.supported())})"


# ---- a test (of `tests`, `defaultTest` or a test file) ----------------------------------------------


def _absent_if_empty(value: Any) -> Any:
    return value or None  # as promptfoo: an empty (or zero, false) vars/assert/metadata/options is none given


def _as_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _unsupported_option(key: str) -> Rejected:
    return Rejected(f"unsupported: test option {key!r} is not part of prompt-review (supported: provider — the grader, rubricPrompt, "
                    "transform, transformVars, storeOutputAs)")


class TestOptions(Shape):
    """promptfoo's test `options` (its TestCase options: prompt, output and grading settings)."""

    __test__ = False  # not a pytest class

    provider: Any = None  # the grader: checks.parse_grader
    rubricPrompt: Any = None  # checks.rubric_prompt
    transform: Any = None  # checks.transform_code
    postprocess: Any = None  # promptfoo's older name of transform
    transformVars: Any = None
    storeOutputAs: Any = None  # a var name: testcases._check_test
    # pacing and caching of promptfoo's own run: no effect on a verdict
    runSerially: Any = None
    cache: Any = None
    disableConversationVar: Any = None
    timeout: Any = None
    prefix: Annotated[Any, _unsupported_option("prefix")] = None
    suffix: Annotated[Any, _unsupported_option("suffix")] = None
    disableVarExpansion: Annotated[Any, _unsupported_option("disableVarExpansion")] = None
    factuality: Annotated[Any, _unsupported_option("factuality")] = None
    delay: Annotated[Any, _unsupported_option("delay")] = None
    includeMetrics: Annotated[Any, _unsupported_option("includeMetrics")] = None
    responseFormat: Annotated[Any, _unsupported_option("responseFormat")] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        near = difflib.get_close_matches(str(key), cls.keys(), n=1)
        return f"unknown test option {key!r}: promptfoo has no such option" + (f" (did you mean {near[0]!r}?)" if near else "")


def _unsupported_test_key(key: str, why: str) -> Rejected:
    return Rejected(f"unsupported: test key {key!r}: {why}")


_VARS = "vars must be a mapping of name → value (or a file:// reference to one)"


class TestEntry(Shape):
    """One test: inline in `tests`, `defaultTest`, a scenario's test, or a row of a test file."""

    __test__ = False  # not a pytest class

    description: Annotated[str | None, BeforeValidator(_as_text)] = None
    # a mapping, or files (globs too; `file://` optional) read by testcases._vars_from_file
    vars: Annotated[dict[Any, Any] | str | list[str] | None, Says(_VARS), BeforeValidator(_absent_if_empty)] = None
    assert_: Annotated[list[Any] | None, Says("assert must be a list"), BeforeValidator(_absent_if_empty),
                       Field(alias="assert")] = None  # each read by checks.check_assertion
    threshold: Annotated[Annotated[int, Strict()] | Annotated[float, Strict()] | None, Says("threshold must be a number")] = None
    metadata: Annotated[dict[Any, Any] | None, Says("metadata must be a mapping"), BeforeValidator(_absent_if_empty)] = None
    options: Annotated[TestOptions | None, Says("options must be a mapping"), BeforeValidator(_absent_if_empty)] = None
    assertScoringFunction: Annotated[Any, Rejected(code_refusal("assertScoringFunction"))] = None
    provider: Annotated[Any, _unsupported_test_key(
        "provider", "a per-test provider is not supported yet; put the case in a suite with that provider")] = None
    providers: Annotated[Any, _unsupported_test_key(
        "providers", "per-test provider filters are not supported yet; split the suite by provider")] = None
    prompts: Annotated[Any, _unsupported_test_key(
        "prompts", "per-test prompt filters are not supported yet; split the suite by prompt")] = None
    providerOutput: Annotated[Any, _unsupported_test_key(
        "providerOutput", "a fixed providerOutput skips the model; prompt-review reviews model outputs")] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unknown test key {key!r} (supported: {', '.join(cls.supported())})"


_SCENARIO_NEEDS = "a scenario needs `config` (a list of vars/assert mappings) and `tests` (a list)"


class Scenario(Shape):
    """promptfoo's scenario: every `config` entry × every test, the entry's vars and assertions under the test's own."""

    description: Any = None
    config: list[Annotated[dict[Any, Any], Says("a scenario config entry must be a mapping (vars, assert, …)")]]
    tests: list[Annotated[dict[Any, Any], Says("a scenario test must be a mapping")]]

    @model_validator(mode="before")
    @classmethod
    def _config_and_tests(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("config"), list) or not isinstance(data.get("tests"), list):
            raise _worded(_SCENARIO_NEEDS)
        return data

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unknown scenario key {key!r} (supported: {', '.join(cls.supported())})"
