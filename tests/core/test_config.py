"""The repo config: defaults when absent, line-numbered errors when wrong."""

import pytest

from bot.core.config import parse_config
from bot.core.errors import UserError


def test_absent_config_means_defaults():
    config = parse_config(None)
    assert config.prompts.include == ["prompts/**", "**/*.prompty", "**/*.prompt"]
    assert config.evals.fail_on == "regression"
    assert config.approval.required_approvals == 1
    assert config.approval.required_approvals_on_regression == 2
    assert config.approval.allow_author is False


def test_empty_file_means_defaults():
    assert parse_config("\n# nothing here\n") == parse_config(None)


def test_unknown_key_is_an_error_with_its_line():
    with pytest.raises(UserError) as info:
        parse_config("evals:\n  fail_on: regression\n  repeets: 3\n")
    (error,) = info.value.errors
    assert error.file == ".github/prompt-review.yml"
    assert error.line == 3
    assert "repeets" in error.message


def test_bad_value_names_the_field_and_line():
    with pytest.raises(UserError) as info:
        parse_config("approval:\n  required_approvals: -1\n")
    (error,) = info.value.errors
    assert (error.line, error.field) == (2, "approval.required_approvals")


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(UserError) as info:
        parse_config("prompts:\n  include: [a, b\nsuites: []\n")
    assert info.value.errors[0].line is not None
    assert "invalid YAML" in info.value.errors[0].message


def test_non_mapping_config_is_refused():
    with pytest.raises(UserError, match="must be a mapping"):
        parse_config("- a\n- b\n")


def test_python_tags_are_not_constructed():
    with pytest.raises(UserError):
        parse_config("evals: !!python/object/apply:os.system ['true']\n")


def test_regex_time_limit_is_set_in_the_repo_config_and_must_be_positive():
    assert parse_config(None).evals.regex_timeout_s == 1.0
    assert parse_config("evals:\n  regex_timeout_s: 2.5\n").evals.regex_timeout_s == 2.5
    with pytest.raises(UserError) as info:
        parse_config("evals:\n  regex_timeout_s: 0\n")
    (error,) = info.value.errors
    assert (error.line, error.field) == (2, "evals.regex_timeout_s")
