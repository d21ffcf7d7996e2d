"""A provider's settings given as `file://` (request fields from JSON/YAML files, Gemini's systemInstruction from a
text file), read from the suite's tree as promptfoo loads them: for the suite's providers (bot.evals.loader) and a
test's own provider (bot.evals.test_provider)."""

from __future__ import annotations

import dataclasses
import posixpath
import re
from typing import Any

from bot.core.errors import UserError
from bot.evals.generators import MAX_VALUES, NOT_DECIDED, RUNS, LoadCode, _values, run_at_load
from bot.evals.sandbox import PyCode
from bot.evals.sources import FileTooLarge, file_ref_paths, read_bounded, read_code_file, read_text, resolve, yaml_or_json
from bot.evals.suite import ProviderSpec

_CODE_REF = re.compile(r"(?P<path>.+?\.(?P<ext>[A-Za-z]+))(?::(?P<name>[A-Za-z_$][\w$]*))?\Z")
TEXT_EXTENSIONS = ("", ".txt", ".md")
MAX_CONFIG_REFS = 20  # file:// values in one provider's config: each may run code while the suite loads


def with_files(spec: ProviderSpec, tree, base_dir, located, where, errors, code: LoadCode = NOT_DECIDED) -> ProviderSpec:
    """Provider settings given as file:// replaced by the file: request fields (tools, response_format,
    functions, responseSchema…) by the file's JSON/YAML data, as promptfoo loads them; Gemini's
    systemInstruction by the file's text. The data is then part of the provider's fingerprint. A Python
    provider's config is read as promptfoo's Python provider reads it (python_config), its code run under `code`."""
    if tree is None:
        return spec
    if isinstance(spec.code, PyCode):
        return python_config(spec, tree, base_dir, located, where, errors, code)
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
    errors.setting_files[found[0]] = None
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
        errors.setting_files[path] = None
        return yaml_or_json(path, raw.decode("utf-8"))
    except FileTooLarge as exc:
        errors.add(located, where, f"{path} is {exc.size:,} bytes, over the limit of {exc.limit:,}")
    except UnicodeDecodeError:
        errors.add(located, where, f"{path} is not UTF-8 text")
    except UserError as exc:
        errors.extend(exc)
    return ref


def python_config(spec: ProviderSpec, tree, base_dir, located, where, errors, code: LoadCode) -> ProviderSpec:
    """A Python provider's config with each `file://` string in it, at any depth, replaced as promptfoo 0.121's Python
    provider does before its first call: a .json/.yaml/.yml file's data, a .txt/.md (or extensionless) file's text,
    and what code returns — a JavaScript module's named function (or the module's function) called with nothing, or
    its exported value; a Python file's function (default get_config) called with nothing. The code runs now, in the
    sandbox under the load gate (the base branch's always; the PR's per evals.run_pr_code; a fork's never), and
    what it returns is bounded like a generator's answer. Problems are errors at the setting's line."""
    count = [0]

    def walk(value: Any, at: Any) -> Any:
        if isinstance(value, str) and value.startswith("file://"):
            count[0] += 1
            if count[0] > MAX_CONFIG_REFS:
                errors.add(located, at, f"more than {MAX_CONFIG_REFS} file:// settings in one provider's config")
                return value
            return config_file(tree, base_dir, located, at, value, errors, code)
        if isinstance(value, dict):
            return {k: walk(v, at + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, at + (i,)) for i, v in enumerate(value)]
        return value

    params = {name: walk(value, where + ("config", name)) for name, value in spec.params}
    if params == dict(spec.params):
        return spec
    return dataclasses.replace(spec, params=tuple(sorted(params.items())))


def config_file(tree, base_dir, located, where, ref: str, errors, code: LoadCode) -> Any:
    """One `file://` setting of a Python provider's config (python_config)."""
    written = ref[len("file://"):]
    m = _CODE_REF.match(written)
    ext = "." + m["ext"].lower() if m else posixpath.splitext(written)[1].lower()
    if ext in (".json", ".yaml", ".yml"):
        return setting_from_file(tree, base_dir, located, where, ref, errors)
    if m is None or ext[1:] not in RUNS:
        if ext not in TEXT_EXTENSIONS:
            errors.add(located, where, f"{ref}: a file setting of a Python provider must be .json, .yaml, .yml, .txt, .md, "
                                       f"JavaScript or Python (promptfoo: Unsupported file extension: {ext})")
            return ref
        found = read_code_file(tree, base_dir, written, located, where, errors, "provider setting file", "provider setting file")
        if found is None:
            return ref
        errors.setting_files[found[0]] = None
        try:
            return found[1].decode("utf-8")
        except UnicodeDecodeError:
            errors.add(located, where, f"{found[0]} is not UTF-8 text")
            return ref
    found = read_code_file(tree, base_dir, m["path"], located, where, errors, "provider setting code", "provider setting code")
    if found is None:
        return ref
    path, raw = found
    errors.setting_files[path] = None
    what = "provider setting code"
    ran, value = run_at_load(tree, path, raw, RUNS[ext[1:]], m["name"], "get_config", [], code, errors, located, where,
                             f"{what} {ref}", what, cwd=base_dir)
    if not ran:
        return ref
    if _values(value, MAX_VALUES) > MAX_VALUES:
        errors.add(located, where, f"{what} {ref} returned more than {MAX_VALUES:,} values")
        return ref
    return value
