"""The shape of a promptfoo suite file as pydantic models: the keys each mapping may hold, the keys
refused (code) or out of scope, and the words a user reads for each problem. The loader and the
test-case reader read the parsed YAML through `check`, which turns the models' errors into SourceErrors
with file and line (`pydantic_errors`); what a value *means* (files, globs, code gating) stays with them.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict, ValidationError, model_validator

from bot.core.config import CONFIG_PATH
from bot.evals.checks import code_refusal
from bot.evals.shapes import Rejected, Says, Shape, worded

# ---- the top level -----------------------------------------------------------------------------


def _repeat_once(where: str) -> AfterValidator:
    """promptfoo's repeat changes how many results a case has: the base branch's evals.repeats decides it."""
    def once(value: Any) -> Any:
        if value not in (None, 1):
            raise worded(f"unsupported: {where}; set evals.repeats in {CONFIG_PATH} (the base branch decides)")
        return value

    return AfterValidator(once)


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
    suggestionsCount: Any = None
    isRedteam: Any = None
    progressCallback: Any = None
    repeat: Annotated[Any, _repeat_once("evaluateOptions.repeat")] = None
    filterRange: Annotated[Any, Rejected(
        "unsupported: evaluateOptions.filterRange runs a slice of the tests; a review runs every test the change affects")] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        near = cls.near_miss(key)
        return f"unknown key evaluateOptions.{key}" + (f" (did you mean {near!r}?)" if near else "")


def ignored_evaluate_options(value: Any) -> list[Any]:
    """The keys of evaluateOptions promptfoo drops unread (its schema keeps only the ones it defines; `runSerially`
    from older versions, say): warnings, as at the top level; a near miss of a known one stays an error."""
    if not isinstance(value, dict):
        return []
    return [key for key in value if key not in EvaluateOptions.keys() and EvaluateOptions.near_miss(key) is None]


# promptfoo's commandLineOptions that only pace, print or store its own run (no effect on a review)
_CLI_NO_EFFECT = ("maxConcurrency", "delay", "verbose", "tableCellMaxLength", "write", "cache", "table", "share", "noShare",
                  "progressBar", "watch", "generateSuggestions", "suggestionsCount", "description")


class CommandLineOptions(Shape):
    """promptfoo's commandLineOptions: defaults for its eval command's flags. Those that only pace, print or store its
    own run are read and ignored; the others choose what runs (filters, `repeat`, prompts, providers, tests, vars, the
    grader, prefixes) or where credentials come from (`envPath`), which the base branch's config decides here."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    maxConcurrency: Any = None
    delay: Any = None
    verbose: Any = None
    tableCellMaxLength: Any = None
    write: Any = None
    cache: Any = None
    table: Any = None
    share: Any = None
    noShare: Any = None
    progressBar: Any = None
    watch: Any = None
    generateSuggestions: Any = None
    suggestionsCount: Any = None
    description: Any = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return (f"unsupported: commandLineOptions.{key} changes what runs or where credentials come from; prompt-review's "
                f"evals options are set in {CONFIG_PATH} (evals:), read from the base branch (commandLineOptions may hold "
                f"only {', '.join(_CLI_NO_EFFECT)}, which have no effect)")


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
            raise ValidationError.from_exception_data("DerivedMetric", [{"type": worded(message), "loc": ("value",), "input": value}])
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
    extensions: Any = None  # hook files: read and run by bot.evals.hooks
    nunjucksFilters: Annotated[dict[str, str] | None, Says("nunjucksFilters must be a mapping of filter name → JavaScript file")] = None
    env: Any = None  # each key read by env_problems: promptfoo's run settings with no effect on a verdict, nothing else
    redteam: Annotated[Any, Rejected(
        "unsupported: redteam is not part of prompt-review (red-team generation and grading); keep red-team configs out of the reviewed suites")] = None
    commandLineOptions: Annotated[CommandLineOptions | None, Says("commandLineOptions must be a mapping")] = None

    @classmethod
    def supported(cls) -> list[str]:
        # `env` takes only promptfoo's pacing settings (env_problems): not offered, nor a near miss of `envPath`
        return [key for key in super().supported() if key != "env"]

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        # `assert:` meant for every test: promptfoo drops it, and the checks with it
        if cls.near_miss(key) is None and key in TestEntry.keys():
            return f"unknown key {key!r}: a test's key, not a suite's; give it under defaultTest (every test) or a test"
        return super().unknown_key(key)


# promptfoo's settings a suite's `env` may hold that pace, cache or log its own run (its per-case timeout, as
# evaluateOptions.timeoutMs): no effect on a verdict
ENV_NO_EFFECT = frozenset({
    "PROMPTFOO_EVAL_TIMEOUT_MS", "PROMPTFOO_MAX_EVAL_TIME_MS", "PROMPTFOO_DELAY_MS", "PROMPTFOO_REQUEST_BACKOFF_MS",
    "PROMPTFOO_RETRY_5XX", "PROMPTFOO_CACHE_ENABLED", "PROMPTFOO_CACHE_TYPE", "PROMPTFOO_CACHE_PATH", "PROMPTFOO_CACHE_TTL",
    "PROMPTFOO_CACHE_MAX_SIZE", "PROMPTFOO_CACHE_MAX_FILE_COUNT", "PROMPTFOO_DISABLE_TELEMETRY", "PROMPTFOO_DISABLE_UPDATE",
    "PROMPTFOO_DISABLE_SHARING", "PROMPTFOO_LOG_LEVEL", "LOG_LEVEL", "PROMPTFOO_DISABLE_ERROR_LOG", "PROMPTFOO_DISABLE_DEBUG_LOG",
    "PROMPTFOO_LOG_DIR", "PROMPTFOO_NO_TESTCASE_ASSERT_WARNING", "PROMPTFOO_TABLE_CELL_MAX_LENGTH", "PROMPTFOO_DISABLE_WAL_MODE",
    "PROMPTFOO_ENABLE_DATABASE_LOGS", "PROMPTFOO_PASS_RATE_THRESHOLD", "PROMPTFOO_FAILED_TEST_EXIT_CODE",
})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_problems(value: Any) -> list[tuple[Any, str]]:
    """A suite's top-level `env` (promptfoo reads it over the machine's environment: its providers' keys and URLs, its own
    settings, and `{{ env.NAME }}` in templates), key by key: (the key, or None for the whole mapping; the problem). Only
    promptfoo's settings that pace, cache or log its run pass, having no effect here; credentials and where requests go
    come from the service's environment, and a value templates would read is not given to them."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [(None, "env must be a mapping of variable names to values")]
    problems: list[tuple[Any, str]] = []
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key) or isinstance(item, (dict, list)):
            problems.append((key, "env must be a mapping of variable names to text, numbers or true/false"))
        elif key not in ENV_NO_EFFECT:
            problems.append((key, f"unsupported: env.{key}: a suite's env is not read by prompt-review; credentials and "
                                  "base URLs come from the service's environment, and templates see no suite values under "
                                  f"`env` (promptfoo's settings that only pace, cache or log its run are accepted: "
                                  "PROMPTFOO_EVAL_TIMEOUT_MS, PROMPTFOO_DELAY_MS, PROMPTFOO_CACHE_*, …)"))
    return problems


def ignored_keys(data: dict[Any, Any]) -> list[Any]:
    """The top-level keys of a suite promptfoo drops unread (its config schema keeps only the keys it
    defines, and a suite with others still runs): `x-anchors:` holding YAML anchors, another tool's
    settings. Each is a warning, not an error. A near miss of a supported key (`test:`, `prompt:`) and a
    test's key (`assert:`, `vars:` meant for defaultTest) are not among them: they stay errors, since
    dropping them would silently drop tests or checks."""
    known = SuiteFile.keys() + TestEntry.keys()
    return [key for key in data if key not in known and SuiteFile.near_miss(key) in (None, *INERT_KEYS)]


# top-level keys that say nothing about what is run or checked (where promptfoo writes its results, the suite's own
# notes): a near miss of one (`output:`, `outputs:` for outputPath) is dropped by promptfoo like any unknown key, and
# dropping it changes no verdict — a warning naming the key it resembles, not an error
INERT_KEYS = ("outputPath", "sharing", "writeLatestResults", "tags", "metadata", "description", "$schema")


def ignored_key(key: Any) -> str:
    near = SuiteFile.near_miss(key)
    return f"ignored key {key!r} (promptfoo ignores keys it does not define; so does prompt-review)" + (
        f"; did you mean {near!r}?" if near in INERT_KEYS else "")

# keys that read as a test's check: promptfoo drops them unread, and the test then checks nothing they say — an error
CHECK_LIKE_KEYS = frozenset({"expected", "expect", "expected_output", "expectedOutput", "expectation", "expectations",
                             "assertion", "assertions", "asserts", "check", "checks", "criteria", "rubric", "ideal",
                             "golden", "reference", "grader", "validate", "validation"})


def ignored_test_keys(item: dict[Any, Any]) -> list[Any]:
    """A test's keys promptfoo drops unread: not its own, no near miss of one and nothing that reads as a check (those
    stay errors: dropping them would drop what the test was meant to check)."""
    return [k for k in item if k not in TestEntry.keys() and TestEntry.near_miss(k) is None and k not in CHECK_LIKE_KEYS
            and k not in ("tests", "scenarios", "defaultTest")]  # nested tests promptfoo would drop: an error


def ignored_test_options(options: dict[Any, Any]) -> list[Any]:
    """A test's options promptfoo's catch-all keeps and nothing reads (no near miss of an option it reads)."""
    return [k for k in options if k not in TestOptions.keys() and TestOptions.near_miss(k) is None]


# the options only a model-graded assertion reads (its grader, its rubric, factuality's scores)
GRADING_OPTIONS = ("provider", "rubricPrompt", "factuality")


def grading_option_misses(options: dict[Any, Any]) -> list[tuple[Any, str]]:
    """A test's options that are near misses of a grading option (`providers:` for `provider:`), with the option each
    resembles. promptfoo's catch-all keeps them and reads nothing of them, so the default grader grades: that matters
    only to a suite with model-graded assertions (an error there, a warning elsewhere: bot.evals.loader)."""
    return [(k, near) for k in options if k not in TestOptions.keys() and (near := TestOptions.near_miss(k)) in GRADING_OPTIONS]


def grading_option_miss(key: str, near: str, graded: bool) -> str:
    if graded:
        return (f"unknown test option {key!r}: promptfoo has no such option (did you mean {near!r}?); promptfoo keeps it and "
                "reads nothing of it, so this suite's model-graded assertions would be graded by the default grader")
    return (f"ignored test option {key!r} (did you mean {near!r}?): promptfoo keeps it and reads nothing of it; it would "
            "only matter to a model-graded assertion, and this suite has none")


def ignored_test_key(key: Any) -> str:
    return f"ignored test key {key!r} (promptfoo keeps a test's own keys and reads only its own; so does prompt-review)"


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
        message = f"unsupported prompt key {key!r} (supported: {', '.join(cls.supported())})"
        if key in ("file", "path"):  # promptfoo keeps the key but reads `raw`, else `id`, as the prompt: the file is never read
            message += (f"; promptfoo does not read `{key}` and sends the prompt's `raw`, else its `id`, as the text: "
                        f"write the file as `raw: file://…` (or `id: file://…`)")
        return message


# ---- a test (of `tests`, `defaultTest` or a test file) ----------------------------------------------


def _absent_if_empty(value: Any) -> Any:
    return value or None  # as promptfoo: an empty (or zero, false) vars/assert/metadata/options is none given


def _as_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _unsupported_option(key: str) -> Rejected:
    return Rejected(f"unsupported: test option {key!r} is not part of prompt-review (supported: provider — the grader, rubricPrompt, "
                    "transform, transformVars, storeOutputAs)")


_SCORE = Annotated[Annotated[int, Strict()] | Annotated[float, Strict()] | None, Says("a factuality score must be a number")]


class FactualityScores(Shape):
    """options.factuality: the score of each factuality category; a category scoring more than 0 passes
    (promptfoo's defaults: every category 1 but `disagree` 0)."""

    subset: _SCORE = None
    superset: _SCORE = None
    agree: _SCORE = None
    disagree: _SCORE = None
    differButFactual: _SCORE = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unknown factuality category {key!r} (categories: {', '.join(cls.supported())})"


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
    delay: Any = None
    # text around the prompt's template, before it is rendered (promptfoo: prefix + raw + suffix)
    prefix: Annotated[str | None, Says("options.prefix must be text")] = None
    suffix: Annotated[str | None, Says("options.suffix must be text")] = None
    # true: list-valued vars are one value, not one case each
    disableVarExpansion: Annotated[Annotated[bool, Strict()] | None, Says("options.disableVarExpansion must be true or false")] = None
    # true: defaultTest's assertions do not apply to this test
    disableDefaultAsserts: Annotated[Annotated[bool, Strict()] | None, Says("options.disableDefaultAsserts must be true or false")] = None
    repeat: Annotated[Any, _repeat_once("options.repeat")] = None
    factuality: Annotated[FactualityScores | None, Says("options.factuality must be a mapping of category → score")] = None
    # read by no part of promptfoo (its test options take any key and ignore the ones it does not know)
    includeMetrics: Any = None
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
    assertScoringFunction: Any = None  # a scoring function's file: read by bot.evals.scoring.scoring_code
    provider: Any = None  # the provider that answers this test's cases: bot.evals.test_provider
    # only these providers / prompts run the test (labels or ids, `prefix*`); an empty list: none
    providers: Annotated[list[str] | None, Says("a test's `providers` must be a list of provider labels or ids")] = None
    prompts: Annotated[list[str] | None, Says("a test's `prompts` must be a list of prompt labels")] = None
    providerOutput: Annotated[Any, _unsupported_test_key(
        "providerOutput", "a fixed providerOutput skips the model; prompt-review reviews model outputs")] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        message = f"unknown test key {key!r} (supported: {', '.join(cls.supported())})"
        if key in CHECK_LIKE_KEYS:
            message += ("; promptfoo drops it and the test checks nothing it says: write it as an assertion "
                        "(assert: [{type: equals, value: …}])")
        return message


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
            raise worded(_SCENARIO_NEEDS)
        return data

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unknown scenario key {key!r} (supported: {', '.join(cls.supported())})"
