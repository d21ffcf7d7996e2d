"""Compare two parsed prompts: messages, sections, instructions and examples.

Settings and variables are compared in compare_meta; this module walks the text.
"""

from __future__ import annotations

import re
from collections import Counter

from dataclasses import replace

from bot.core.semdiff.align import align, moved, similarity
from bot.core.semdiff.classify import _short, classify_pair, typo_only
from bot.core.semdiff.cues import formats, is_format_instruction, is_rule, numbers
from bot.core.semdiff.model import Change, Severity, make_change
from bot.core.semdiff.model import ChangeType as T
from bot.core.semdiff.structure import Example, Message, Parsed, Section, Unit, canonical

_EXCERPT = 400
_EXAMPLES_TITLE = re.compile(r"\b(examples?|few[- ]shot)\b", re.I)


def compare_text(a: Parsed, b: Parsed, renames: dict[str, str]) -> list[Change]:
    changes: list[Change] = []
    lost, gained = _number_shift(a, b)
    pairs = _align_messages(a.messages, b.messages, renames)
    pairs += _pair_leftovers(a.messages, b.messages, pairs)
    matched_a = {i for i, _, _ in pairs}
    matched_b = {j for _, j, _ in pairs}
    # What moved into a new message (a prompt split into system + user) was not removed.
    elsewhere = {u.canon for j, m in enumerate(b.messages) if j not in matched_b for u in m.units}
    elsewhere |= {f"§{s.key}" for j, m in enumerate(b.messages) if j not in matched_b for s in m.sections}
    for i, j, _ in pairs:
        ma, mb = a.messages[i], b.messages[j]
        if ma.role != mb.role:
            changes.append(
                make_change(T.ROLE_CHANGED, f"message role changed: {ma.role} → {mb.role}", before=ma.role,
                            after=mb.role, base_lines=ma.lines, head_lines=mb.lines)
            )
        changes.extend(_compare_message(ma, mb, renames, lost, gained, elsewhere))
    for i, m in enumerate(a.messages):
        if i not in matched_a:
            changes.append(
                make_change(T.MESSAGE_REMOVED, f"{m.role} message removed", before=_clip(m.text.strip()),
                            base_lines=m.lines, context=m.role)
            )
            if m.role in ("system", "developer"):
                for u in m.units:
                    changes.extend(_removed_unit(u, m.role))
    for j, m in enumerate(b.messages):
        if j not in matched_b:
            changes.append(
                make_change(T.MESSAGE_ADDED, f"{m.role} message added", after=_clip(m.text.strip()),
                            head_lines=m.lines, context=m.role)
            )
    changes.extend(_compare_examples(a.examples, b.examples, renames))
    return changes


def _compare_message(ma: Message, mb: Message, renames: dict[str, str], lost: Counter, gained: Counter,
                     elsewhere: frozenset[str] | set[str] = frozenset()) -> list[Change]:
    changes: list[Change] = []
    if _rendered(ma.text) == _rendered(mb.text):
        return []  # equivalence before difference: same words in the same order
    ctx_role = None if ma.role == "prompt" else ma.role
    sec_pairs = _align_sections(ma.sections, mb.sections)
    sec_of_b = {j: i for i, j in sec_pairs}
    for i, j in sec_pairs:
        sa, sb = ma.sections[i], mb.sections[j]
        if sa.key != sb.key:
            changes.append(
                make_change(T.SECTION_RENAMED, f'section renamed: "{sa.title}" → "{sb.title}"', before=sa.title,
                            after=sb.title, base_lines=sa.lines, head_lines=sb.lines, context=ctx_role)
            )
    for i, j in sorted(moved(sec_pairs)):
        sa, sb = ma.sections[i], mb.sections[j]
        changes.append(
            make_change(T.SECTION_MOVED, f'section moved: "{sb.title or "(top)"}"', before=sa.title, after=sb.title,
                        base_lines=sa.lines, head_lines=sb.lines, context=ctx_role)
        )
    removed_secs = {i for i in range(len(ma.sections)) if i not in dict(sec_pairs)}
    added_secs = {j for j in range(len(mb.sections)) if j not in sec_of_b}
    for i in sorted(removed_secs):
        s = ma.sections[i]
        if (s.units and all(u.canon in elsewhere for u in s.units)) or f"§{s.key}" in elsewhere or _holds_examples(s):
            continue
        changes.append(
            make_change(T.SECTION_REMOVED, f'section removed: "{s.title}"', before=_section_text(s),
                        base_lines=s.lines, context=ctx_role)
        )
    for j in sorted(added_secs):
        s = mb.sections[j]
        if _holds_examples(s):
            continue  # its examples are reported one by one
        changes.append(
            make_change(T.SECTION_ADDED, f'section added: "{s.title}"', after=_section_text(s),
                        head_lines=s.lines, context=ctx_role)
        )

    # Instructions, aligned across the whole message so moves between sections are seen.
    ua = [(si, u) for si, s in enumerate(ma.sections) for u in s.units]
    ub = [(sj, u) for sj, s in enumerate(mb.sections) for u in s.units]
    pair_id = {i: n for n, (i, _) in enumerate(sec_pairs)}
    group_a = [pair_id.get(si, f"a{si}") for si, _ in ua]
    group_b = [pair_id.get(sec_of_b.get(sj, -1), f"b{sj}") for sj, _ in ub]
    kind = lambda u: "logic" if u.kind == "logic" else ("code" if u.kind == "code" else "text")  # noqa: E731
    unit_pairs = align(
        [_rename(u.canon, renames) for _, u in ua],
        [u.canon for _, u in ub],
        group_a=group_a,
        group_b=group_b,
        allowed=lambda i, j: kind(ua[i][1]) == kind(ub[j][1]),
    )
    by_group: dict[object, list[tuple[int, int]]] = {}
    for i, j, _ in unit_pairs:
        if group_a[i] == group_b[j]:
            by_group.setdefault(group_a[i], []).append((i, j))
    moved_units = {(i, j) for i, j, _ in unit_pairs if group_a[i] != group_b[j]}
    for same_section in by_group.values():
        moved_units |= moved(same_section)
    for i, j, _ in unit_pairs:
        (si, a), (sj, b) = ua[i], ub[j]
        context = _context(mb.sections[sj], b, ctx_role)
        if _rename(a.canon, renames) != b.canon and not typo_only(a.text, b.text):
            for f in classify_pair(a, b, lost, gained):
                change = make_change(f.type, f.summary, before=a.text, after=b.text, base_lines=a.lines,
                                     head_lines=b.lines, context=context)
                changes.append(replace(change, severity=f.severity) if f.severity else change)
        if (i, j) in moved_units:
            where = mb.sections[sj].title
            changes.append(
                make_change(T.INSTRUCTION_MOVED, f"instruction moved{f' to {where!r}' if where else ''}: {_short(b.text)}",
                            before=a.text, after=b.text, base_lines=a.lines, head_lines=b.lines, context=context)
            )
    done_a = {i for i, _, _ in unit_pairs}
    done_b = {j for _, j, _ in unit_pairs}
    for i, (si, u) in enumerate(ua):
        if i not in done_a and u.canon not in elsewhere:
            changes.extend(_removed_unit(u, _context(ma.sections[si], u, ctx_role)))
    for j, (sj, u) in enumerate(ub):
        if j not in done_b and sj not in added_secs:
            changes.append(_added_unit(u, _context(mb.sections[sj], u, ctx_role)))
    changes.extend(_compare_examples(list(ma.examples), list(mb.examples), renames, skip=True))
    return changes


def _pair_leftovers(ma: list[Message], mb: list[Message], pairs) -> list[tuple[int, int, float]]:
    """Heavily edited messages still pair up by role, in order (one system prompt rewritten is
    not 'removed and added'); when what is left has no role in common, a single role-less
    prompt pairs with the first message it was split into (a role change)."""
    rest_a = [i for i in range(len(ma)) if i not in {p[0] for p in pairs}]
    rest_b = [j for j in range(len(mb)) if j not in {p[1] for p in pairs}]
    out: list[tuple[int, int, float]] = []
    for role in dict.fromkeys(ma[i].role for i in rest_a):
        left = [i for i in rest_a if ma[i].role == role]
        right = [j for j in rest_b if mb[j].role == role]
        out += [(i, j, 0.0) for i, j in zip(left, right)]
    return out


def _removed_unit(u: Unit, context: str | None) -> list[Change]:
    label = "template logic removed" if u.kind == "logic" else "instruction removed"
    removed = make_change(T.INSTRUCTION_REMOVED, f"{label}: {_short(u.text)}", before=u.text, base_lines=u.lines,
                          context=context)
    if is_format_instruction(u.text, u.kind) and u.kind != "code":
        # A removed format rule is both: a rule the answers relied on is gone, and their shape may change.
        return [removed, make_change(T.OUTPUT_FORMAT_CHANGED, f"output format instruction removed: {_short(u.text)}",
                                     before=u.text, base_lines=u.lines, context=context)]
    if is_format_instruction(u.text, u.kind):
        return [make_change(T.OUTPUT_FORMAT_CHANGED, f"output format removed: {_short(u.text)}",
                            before=u.text, base_lines=u.lines, context=context)]
    return [removed]


def _added_unit(u: Unit, context: str | None) -> Change:
    if is_format_instruction(u.text, u.kind):
        return make_change(T.OUTPUT_FORMAT_CHANGED, f"output format instruction added: {_short(u.text)}",
                           after=u.text, head_lines=u.lines, context=context)
    label = "template logic added" if u.kind == "logic" else "instruction added"
    change = make_change(T.INSTRUCTION_ADDED, f"{label}: {_short(u.text)}", after=u.text, head_lines=u.lines,
                         context=context)
    # A new rule (an imperative or a must/should) changes behaviour; a new description rarely does.
    return replace(change, severity=Severity.HIGH) if is_rule(u.text, u.kind) else change


def _compare_examples(ea: list[Example], eb: list[Example], renames: dict[str, str], skip: bool = False) -> list[Change]:
    """Few-shot examples. Message-level examples are compared once, at the prompt level."""
    if skip:
        return []
    out: list[Change] = []
    pairs = align([_rename(e.canon, renames) for e in ea], [e.canon for e in eb], threshold=55.0)
    # Examples replaced by others at the same place are changed examples (the set kept its size).
    rest_a = [i for i in range(len(ea)) if i not in {p[0] for p in pairs}]
    rest_b = [j for j in range(len(eb)) if j not in {p[1] for p in pairs}]
    pairs = sorted(pairs + [(i, j, 0.0) for i, j in zip(rest_a, rest_b)])
    for i, j, _ in pairs:
        if _rename(ea[i].canon, renames) != eb[j].canon and _rendered(ea[i].text) != _rendered(eb[j].text):
            change = make_change(T.EXAMPLE_CHANGED, f"few-shot example changed: {_short(eb[j].text, 60)}",
                                 before=ea[i].text, after=eb[j].text, base_lines=ea[i].lines, head_lines=eb[j].lines)
            if _keys(ea[i].text) != _keys(eb[j].text):
                # The example now answers with other keys (a tool call's arguments, a JSON reply):
                # the model copies that shape.
                change = replace(change, severity=Severity.HIGH,
                                 summary=f"{change.summary} (keys changed)")
            out.append(change)
    da, db = {i for i, _, _ in pairs}, {j for _, j, _ in pairs}
    for i, e in enumerate(ea):
        if i not in da:
            out.append(make_change(T.EXAMPLE_REMOVED, f"few-shot example removed: {_short(e.text, 60)}",
                                   before=e.text, base_lines=e.lines))
    for j, e in enumerate(eb):
        if j not in db:
            out.append(make_change(T.EXAMPLE_ADDED, f"few-shot example added: {_short(e.text, 60)}",
                                   after=e.text, head_lines=e.lines))
    return out


def _align_sections(sa: tuple[Section, ...], sb: tuple[Section, ...]) -> list[tuple[int, int]]:
    """By title first (renames by similar title), then by shared instructions (renames to a new title)."""
    pairs = [(i, j) for i, j, _ in align([s.key for s in sa], [s.key for s in sb], threshold=75.0)]
    # The text before the first heading only pairs with its counterpart.
    pairs = [(i, j) for i, j in pairs if (sa[i].title == "") == (sb[j].title == "")]
    used_a, used_b = {i for i, _ in pairs}, {j for _, j in pairs}
    for i, s in enumerate(sa):
        if i in used_a or not s.units:
            continue
        mine = [u.canon for u in s.units]
        best, best_j = 0.0, None
        for j, t in enumerate(sb):
            if j in used_b or not t.units or (s.title == "") != (t.title == ""):
                continue
            theirs = [u.canon for u in t.units]
            # Shared instructions, counting light rewordings: a renamed heading keeps most of them.
            shared = sum(1 for x in mine if x in theirs or max(similarity(x, y) for y in theirs) >= 80)
            overlap = shared / min(len(mine), len(theirs))
            if overlap > best:
                best, best_j = overlap, j
        if best_j is not None and best >= 0.5:
            pairs.append((i, best_j))
            used_a.add(i)
            used_b.add(best_j)
    return sorted(pairs)


def _number_shift(a: Parsed, b: Parsed) -> tuple[Counter, Counter]:
    """Numbers that disappeared from / appeared in the whole prompt (not merely moved).

    Sentences present on both sides cancel out, so only the differing ones are scanned.
    """
    ca = Counter(u.canon for m in a.messages for u in m.units)
    cb = Counter(u.canon for m in b.messages for u in m.units)
    na: Counter[str] = Counter()
    nb: Counter[str] = Counter()
    for text, count in (ca - cb).items():
        for key, n in numbers(text).items():
            na[key] += n * count
    for text, count in (cb - ca).items():
        for key, n in numbers(text).items():
            nb[key] += n * count
    return na - nb, nb - na


def _align_messages(ma: list[Message], mb: list[Message], renames: dict[str, str]) -> list[tuple[int, int, float]]:
    """Messages pair by the share of instructions they have in common (cheap on long prompts),
    same role preferred; identical texts pair first."""
    if len(ma) == 1 and len(mb) == 1 and ma[0].role == mb[0].role:
        return [(0, 0, 100.0)]
    sets_a = [{_rename(u.canon, renames) for u in m.units} | {canonical(m.text)} for m in ma]
    sets_b = [{u.canon for u in m.units} | {canonical(m.text)} for m in mb]
    scored = []
    for i, sa in enumerate(sets_a):
        for j, sb in enumerate(sets_b):
            share = len(sa & sb) / max(len(sa | sb), 1)
            if ma[i].role == mb[j].role:
                share += 0.25
            if share >= 0.5:
                scored.append((share, -abs(i - j), i, j))
    pairs, used_a, used_b = [], set(), set()
    for share, _, i, j in sorted(scored, reverse=True):
        if i not in used_a and j not in used_b:
            pairs.append((i, j, share * 100))
            used_a.add(i)
            used_b.add(j)
    return pairs


_MARKUP = re.compile(r"^\s{0,3}(#{1,6}|[-*+•]|\d{1,3}[.)]|[a-zA-Z][.)])(?=\s|[A-Za-z])|[*_`]+", re.M)


def _rendered(text: str) -> str:
    """The words a model reads, without markup: heading hashes, list markers and numbers,
    emphasis and every whitespace difference."""
    return " ".join(_MARKUP.sub(" ", text).split())


def _rename(text: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, text)
    return text


def _context(section: Section, unit: Unit, role: str | None) -> str | None:
    parts = [p for p in (role, f"section {section.title!r}" if section.title else None, unit.branch) if p]
    return ", ".join(parts) or None


def _keys(text: str) -> frozenset[str]:
    """JSON keys in an example, also inside a tool call's JSON-encoded arguments."""
    return formats(text.replace('\\"', '"'), "code")


def _holds_examples(s: Section) -> bool:
    return not s.units and bool(_EXAMPLES_TITLE.search(s.title))


def _section_text(s: Section) -> str:
    return _clip("\n".join([s.title] + [u.text for u in s.units]))


def _clip(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
