"""YAML is read by the 1.2 core schema, as promptfoo's js-yaml reads suites: `yes`/`on` are text,
`010` is ten; line numbers and merge keys work as before; bad explicit scalars name their line."""

from __future__ import annotations

import datetime
import math

import pytest

from bot.core.config import parse_config
from bot.core.errors import UserError
from bot.core.yamlsrc import load_yaml


def value(scalar: str):
    return load_yaml(f"v: {scalar}\n", "f.yaml").data["v"]


@pytest.mark.parametrize("scalar", ["yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "NO", "On", "OFF"])
def test_yaml_1_1_booleans_are_plain_strings(scalar):
    assert value(scalar) == scalar


@pytest.mark.parametrize(
    "scalar, expected",
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False)],
)
def test_only_true_and_false_in_three_spellings_are_booleans(scalar, expected):
    assert value(scalar) is expected


@pytest.mark.parametrize(
    "scalar, expected",
    [
        ("010", 10),  # YAML 1.1 (PyYAML) says 8
        ("0o10", 8),
        ("0x10", 16),
        ("0x1F", 31),
        ("-42", -42),
        ("+7", 7),
        ("0", 0),
        ("00", 0),
    ],
)
def test_integers_are_decimal_unless_prefixed_0o_or_0x(scalar, expected):
    result = value(scalar)
    assert result == expected and type(result) is int


@pytest.mark.parametrize(
    "scalar, expected",
    [("1.5", 1.5), ("1e3", 1000.0), ("-2.5E-1", -0.25), (".5", 0.5), ("1.", 1.0), (".inf", math.inf), ("-.Inf", -math.inf),
     ("+.INF", math.inf)],
)
def test_floats_include_exponents_without_a_dot_and_infinities(scalar, expected):
    result = value(scalar)
    assert result == expected and type(result) is float


@pytest.mark.parametrize("scalar", [".nan", ".NaN", ".NAN"])
def test_nan_in_three_spellings(scalar):
    assert math.isnan(value(scalar))


@pytest.mark.parametrize("scalar", ["1_000", "1:30", "0b101", "0o19", "0xZZ", "+0x10", ".Nan", "1e", "e3", "TrUe"])
def test_numbers_only_yaml_1_1_knew_are_strings(scalar):
    # the 1.2 core schema has no `_` digit separators, sexagesimal or binary integers
    assert value(scalar) == scalar


@pytest.mark.parametrize("scalar", ["~", "null", "Null", "NULL", ""])
def test_null_spellings(scalar):
    assert value(scalar) is None


def test_quoted_scalars_stay_strings_and_timestamps_stay_dates_as_in_js_yaml():
    data = load_yaml("a: '010'\nb: \"true\"\nc: 2024-01-31\n", "f.yaml").data
    assert data == {"a": "010", "b": "true", "c": datetime.date(2024, 1, 31)}


def test_an_on_key_is_the_string_on_and_keeps_its_line():
    doc = load_yaml("name: ci\non:\n  push: {branches: [main]}\n  off: 010\n", "workflow.yml")
    assert doc.data == {"name": "ci", "on": {"push": {"branches": ["main"]}, "off": 10}}
    assert doc.line_of(("on",)) == 2 and doc.line_of(("on", "off")) == 4


def test_merge_keys_still_merge():
    doc = load_yaml("base: &b {x: 1, y: on}\ncase:\n  <<: *b\n  z: 2\n", "f.yaml")
    assert doc.data["case"] == {"x": 1, "y": "on", "z": 2}


@pytest.mark.parametrize("text, words", [("a: 1\nb: !!bool yes\n", "'yes' is not a YAML 1.2 boolean"),
                                         ("a: 1\nb: !!int 1_000\n", "'1_000' is not a YAML 1.2 integer"),
                                         ("a: 1\nb: !!float 1_0.5\n", "'1_0.5' is not a YAML 1.2 float")])
def test_an_explicit_tag_on_a_value_of_another_type_is_an_error_with_its_line(text, words):
    with pytest.raises(UserError) as info:
        load_yaml(text, "f.yaml")
    (error,) = info.value.errors
    assert (error.file, error.line) == ("f.yaml", 2) and words in error.message


def test_repo_config_with_an_on_key_names_the_key_on_not_true():
    with pytest.raises(UserError) as info:
        parse_config("evals:\n  repeats: 2\non: push\n")
    (error,) = info.value.errors
    assert error.line == 3 and error.message == "unknown key 'on'"
