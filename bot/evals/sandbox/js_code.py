"""A piece of suite JavaScript as the sandbox carries it (JsCode, with the repository files it requires: Module) and the
rewrite of the ES module syntax suites use into CommonJS, which the engine runs (bot.evals.sandbox.js). Apart from
the engine, so the module linker (bot.evals.sandbox.js_modules) and the engine can both use them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.evals.sandbox.result import Fault, SandboxError

Links = tuple[tuple[str, "str | None"], ...]  # (specifier as written, repo path it resolves to; None: no such file)


@dataclass(frozen=True)
class Module:
    """One required file: its repo path, the JavaScript the engine runs for it, its text as in the repository (what
    identity compares), and where each of its own relative requires leads."""

    path: str
    source: str
    written: str
    links: Links = ()


@dataclass(frozen=True)
class JsCode:
    """One javascript assertion's code: inline text, or a module file's text with the export to call."""

    source: str
    file: str | None = None  # the module's path for file:// refs (messages only)
    function: str | None = None  # a named export; None = the module's function / default export
    # an http provider's transformResponse module: its function is called as fn(json, text, context)
    # with `output` = {json, text} (promptfoo's calling convention for response transforms)
    response: bool = False
    # TypeScript as written when `source` is esbuild's JavaScript for it: what the code gate, fingerprints and
    # change reasons compare (a changed .ts is changed code, even where only its types changed)
    written: str | None = None
    # the repository's files it requires by relative path (bot.evals.sandbox.js_modules.link): where each of its own
    # requires leads, and every file so required, directly or not; part of its identity (bot.evals.suite.code_identity)
    links: tuple[tuple[str, str | None], ...] = ()
    modules: tuple[Module, ...] = ()

    @classmethod
    def inline(cls, value: str) -> JsCode:
        return cls(value)


_ESM_IMPORT = re.compile(r"^\s*import\s[^\n]*?from\s|^\s*import\s*['\"]", re.M)
_ESM_DEFAULT = re.compile(r"^(\s*)export\s+default\s+", re.M)
_ESM_NAMED = re.compile(r"^(\s*)export\s+((?:async\s+)?function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)", re.M)


_IMPORT_FORMS = re.compile(
    r"^(?P<indent>\s*)import\s+(?:(?P<default>[A-Za-z_$][\w$]*)|\*\s*as\s+(?P<star>[A-Za-z_$][\w$]*)"
    r"|\{(?P<names>[^}]*)\})\s+from\s*(?P<module>'[^'\n]*'|\"[^\"\n]*\")\s*;?"
    r"|^(?P<bare_indent>\s*)import\s*(?P<bare>'[^'\n]*'|\"[^\"\n]*\")\s*;?",
    re.M,
)


# `import d, {a} from 'm'` / `import d, * as ns from 'm'`; `export {a, b as c}`; `export {a} from 'm'`, `export * from 'm'`
_IMPORT_MIXED = re.compile(
    r"^(?P<indent>\s*)import\s+(?P<default>[A-Za-z_$][\w$]*)\s*,\s*(?:\{(?P<names>[^}]*)\}|\*\s*as\s+(?P<star>[A-Za-z_$][\w$]*))"
    r"\s*from\s*(?P<module>'[^'\n]*'|\"[^\"\n]*\")\s*;?", re.M)
_EXPORT_FROM = re.compile(
    r"^(?P<indent>\s*)export\s*(?:\{(?P<names>[^}]*)\}|\*(?:\s*as\s+(?P<star>[A-Za-z_$][\w$]*))?)\s*from\s*"
    r"(?P<module>'[^'\n]*'|\"[^\"\n]*\")\s*;?", re.M)
_EXPORT_LIST = re.compile(r"^(?P<indent>\s*)export\s*\{(?P<names>[^}]*)\}\s*;?", re.M)
# `import('./x.js')`: a promise of the module's namespace (its exports, with `default` the exports when it has none)
_DYNAMIC_IMPORT = re.compile(r"(?<![\w$.])import\s*\(\s*('[^'\n]*'|\"[^\"\n]*\")\s*\)")
_NAMESPACE = ("Promise.resolve().then(() => ((m) => m !== null && (typeof m === 'object' || typeof m === 'function') "
              "&& 'default' in m ? m : Object.assign({}, m, { default: m }))(require(\\1)))")
# `import.meta` (and esbuild's name for it in transpiled TypeScript): Node's values for the module
_IMPORT_META = re.compile(r"(?<![\w$.])(?:import\s*\.\s*meta|__pr_import_meta)(?![\w$])")
_META = 'const __pr_import_meta = { url: "file://" + __filename, filename: __filename, dirname: __dirname };'
_SHADOWS = re.compile(r"(?<![\w$.])(?:const|let|class)\s+(?:__dirname|__filename|require|module|exports)(?![\w$])")
_AS = re.compile(r"^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$")


def _pairs(names: str) -> list[tuple[str, str]]:
    """`a, b as c` → [(a, a), (b, c)] (local name, exported name)."""
    out = []
    for part in (p.strip() for p in names.split(",")):
        m = _AS.match(part)
        if m:
            out.append((m.group(1), m.group(2) or m.group(1)))
    return out


def _mixed_import(m: re.Match[str]) -> str:
    module, indent, default = m.group("module"), m.group("indent"), m.group("default")
    tail = (f" const {m.group('star')} = __pr_m;" if m.group("star") else
            " const { " + ", ".join(a if a == b else f"{a}: {b}" for a, b in _pairs(m.group("names") or "")) + " } = __pr_m;")
    return (f"{indent}const {{ {default}, __pr_m }} = ((m) => ({{ {default}: m && m.default !== undefined ? m.default : m, "
            f"__pr_m: m }}))(require({module}));{tail}").replace("__pr_m", f"__pr_m_{default}")


def _export_from(m: re.Match[str]) -> str:
    module, indent = m.group("module"), m.group("indent")
    if m.group("names") is not None:
        sets = "".join(f" module.exports.{b} = __pr_m.{a};" for a, b in _pairs(m.group("names")))
        return f"{indent}{{ const __pr_m = require({module});{sets} }}"
    if m.group("star"):
        return f"{indent}module.exports.{m.group('star')} = require({module});"
    return (f"{indent}{{ const __pr_m = require({module}); for (const k of Object.keys(__pr_m)) "
            "if (k !== 'default') module.exports[k] = __pr_m[k]; }")


def _import_as_require(m: re.Match[str]) -> str:
    if m.group("bare") is not None:
        return f"{m.group('bare_indent')}require({m.group('bare')});"
    module, indent = m.group("module"), m.group("indent")
    if m.group("default"):
        return f"{indent}const {m.group('default')} = ((m) => m && m.default !== undefined ? m.default : m)(require({module}));"
    if m.group("star"):
        return f"{indent}const {m.group('star')} = require({module});"
    names = [n.strip() for n in m.group("names").split(",") if n.strip()]
    fields = ", ".join(re.sub(r"^([\w$]+)\s+as\s+([\w$]+)$", r"\1: \2", n) for n in names)
    return f"{indent}const {{ {fields} }} = require({module});"


def _commonjs(code: JsCode, imports: bool = True) -> str:
    """ES module syntax the examples use, rewritten to CommonJS: `import … from 'm'` becomes require('m'), which
    loads the repository's own files by relative path (bot.evals.sandbox.js_modules) and answers or refuses the rest
    (each harness's own `require`)."""
    where = code.file or "the module"
    source = _IMPORT_FORMS.sub(_import_as_require, _IMPORT_MIXED.sub(_mixed_import, code.source))
    source = _DYNAMIC_IMPORT.sub(_NAMESPACE, source)
    meta = _IMPORT_META.search(source) is not None
    source = _IMPORT_META.sub("__pr_import_meta", source)
    if _ESM_IMPORT.search(source):
        raise SandboxError(
            Fault.UNSUPPORTED,
            f"{where} imports other modules in a form the sandbox does not rewrite (import x from 'm', import {{a, b as c}} "
            "from 'm', import * as x from 'm' and import 'm' are read); modules are not loaded in the sandbox otherwise",
        )
    source = _EXPORT_FROM.sub(_export_from, source)
    listed = [pair for m in _EXPORT_LIST.finditer(source) for pair in _pairs(m.group("names"))]
    source = _EXPORT_LIST.sub(lambda m: m.group("indent"), source)  # `export {a, b as c}`: set at the end, as the others
    names = [(m.group(3), m.group(3)) for m in _ESM_NAMED.finditer(source)] + listed
    text = _ESM_DEFAULT.sub(r"\1module.exports.default = ", source)
    text = _ESM_NAMED.sub(r"\1\2 \3", text)
    text += "".join(f"\n;module.exports.{b} = {a};" for a, b in names)
    # an ES module may declare Node's CommonJS names (`const __dirname = dirname(fileURLToPath(import.meta.url))`): in a
    # block of its own, the declaration shadows the module function's parameter instead of clashing with it
    if _SHADOWS.search(text):
        text = "{" + text + "\n}"
    # import.meta: Node's values for the module, taken before the module's own code can shadow the names (on line 1)
    return _META + text if meta else text
