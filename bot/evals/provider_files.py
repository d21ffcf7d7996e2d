"""A provider's settings given as `file://` (request fields from JSON/YAML files, Gemini's systemInstruction from a
text file), read from the suite's tree as promptfoo loads them: for the suite's providers (bot.evals.loader) and a
test's own provider (bot.evals.test_provider)."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.core.errors import UserError
from bot.evals.sources import FileTooLarge, file_ref_paths, read_bounded, read_text, resolve, yaml_or_json
from bot.evals.suite import ProviderSpec


def with_files(spec: ProviderSpec, tree, base_dir, located, where, errors) -> ProviderSpec:
    """Provider settings given as file:// replaced by the file: request fields (tools, response_format,
    functions, responseSchema…) by the file's JSON/YAML data, as promptfoo loads them; Gemini's
    systemInstruction by the file's text. The data is then part of the provider's fingerprint."""
    if tree is None:
        return spec
    params = dict(spec.params)
    for name, value in spec.params:
        if isinstance(value, str) and value.startswith("file://"):
            params[name] = setting_from_file(tree, base_dir, located, where + ("config", name), value, errors)
        if name == "output_format":  # Anthropic's structured outputs: a json_schema format's schema may be a file too
            params[name] = _nested_schema(tree, base_dir, located, where + ("config", name), params[name], errors)
    if params != dict(spec.params):
        spec = dataclasses.replace(spec, params=tuple(sorted(params.items())))
    ref = spec.option("systemInstruction")
    if not isinstance(ref, str) or not ref.startswith("file://"):
        return spec
    found = file_ref_paths(tree, base_dir, located, errors, where, ref, "a system instruction written in code")
    if len(found) != 1:
        return spec
    try:
        text = read_text(tree, found[0])
    except UserError as exc:
        errors.extend(exc)
        return spec
    options = tuple(sorted({**dict(spec.options), "systemInstruction": text}.items()))
    return dataclasses.replace(spec, options=options)


def _nested_schema(tree, base_dir, located, where, value: Any, errors) -> Any:
    """A json_schema format whose `schema` (or `json_schema.schema`) is file://, with the file's data in its place, as
    promptfoo loads an output format."""
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        return value
    inner = value.get("json_schema") if isinstance(value.get("json_schema"), dict) and "schema" not in value else None
    ref = (inner or value).get("schema")
    if not isinstance(ref, str) or not ref.startswith("file://"):
        return value
    loaded = setting_from_file(tree, base_dir, located, where + ("schema",), ref, errors)
    return {**value, "json_schema": {**inner, "schema": loaded}} if inner is not None else {**value, "schema": loaded}


def setting_from_file(tree, base_dir, located, where, ref: str, errors) -> Any:
    path = resolve(base_dir, ref[len("file://"):])
    if path is None or not path.lower().endswith((".json", ".yaml", ".yml")):
        errors.add(located, where, f"{ref}: a provider setting from a file must be a .json, .yaml or .yml file inside the repository")
        return ref
    try:
        raw = read_bounded(tree, path, errors.max_file_bytes)
        if raw is None:
            errors.add(located, where, f"file {path} not found")
            return ref
        return yaml_or_json(path, raw.decode("utf-8"))
    except FileTooLarge as exc:
        errors.add(located, where, f"{path} is {exc.size:,} bytes, over the limit of {exc.limit:,}")
    except UnicodeDecodeError:
        errors.add(located, where, f"{path} is not UTF-8 text")
    except UserError as exc:
        errors.extend(exc)
    return ref
