"""Every labelled pair under tests/fixtures/semdiff/ yields exactly its expected changes."""

from pathlib import Path

import pytest

from bot.core.files import MemoryTree
from bot.core.semdiff import ChangeType
from bot.core.semdiff.evaluate import load_corpus, score

ROOT = Path(__file__).parent.parent / "fixtures" / "semdiff"
CORPUS = load_corpus(MemoryTree({p.relative_to(ROOT).as_posix(): p.read_bytes() for p in ROOT.rglob("*") if p.is_file()}))


@pytest.mark.parametrize("pair", CORPUS, ids=[p.name for p in CORPUS])
def test_pair_yields_exactly_its_expected_changes(pair):
    diff = pair.diff()
    result = score(pair, diff)
    got = "\n".join(f"  {c.type.value}: {c.summary} {c.base_lines}->{c.head_lines}" for c in diff.changes)
    assert result.ok, (
        f"missed {result.missed}\nunexpected {[c.summary for c in result.extra]}\n"
        f"problems {result.problems}\nall changes:\n{got}"
    )


def test_corpus_has_at_least_sixty_pairs():
    assert len(CORPUS) >= 60


def test_corpus_covers_every_change_type():
    labelled = {c["type"] for p in CORPUS for c in p.expected["changes"]}
    assert {t.value for t in ChangeType} - labelled == set()


def test_corpus_covers_every_format():
    formats = {p.diff().format for p in CORPUS}
    assert formats >= {"text", "markdown", "jinja2", "chat-json", "chat-yaml", "front-matter", "prompty", "dotprompt"}


def test_corpus_includes_unparsable_files_of_several_formats():
    broken = {p.diff().format for p in CORPUS if p.expected.get("fallback")}
    assert broken >= {"jinja2", "chat-json", "chat-yaml", "front-matter"}
