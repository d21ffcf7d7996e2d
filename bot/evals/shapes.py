"""The machinery that reads a mapping of a promptfoo suite through a pydantic model with a user's words
for every problem: `Shape` (unknown keys worded by the model), `Says` (a type problem in words, not
Python's), `Rejected` (a key whose presence is the problem), and `check`, which turns the model's errors
into SourceErrors with file and line through `pydantic_errors`. The models are in suite_models (the suite
file, tests, prompts) and providers_config (a provider entry)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ModelWrapValidatorHandler, ValidationError, model_validator
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from bot.core.yamlsrc import LocatedYaml, Path, pydantic_errors
from bot.evals.sources import Collector

# The error type of every problem worded here for a user; pydantic's own (naming Python types) are
# reworded by the `Says` around them.
WORDED = "prompt_review"


def worded(message: str) -> PydanticCustomError:
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
            details.append({"type": worded(e["msg"] if message is None else message), "loc": e["loc"], "input": e["input"]})
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
                    raise worded(self.message) from None
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
            raise worded(self.message)

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
    def near_miss(cls, key: Any) -> str | None:
        """The supported key `key` is likely a misspelling of, if any."""
        near = difflib.get_close_matches(str(key), cls.supported(), n=1)
        return near[0] if near else None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        near = cls.near_miss(key)
        return f"unknown key {key!r}" + (f" (did you mean {near!r}?)" if near else "") + f" (supported: {', '.join(cls.supported())})"

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
