"""Maps a base-side line of a changed prompt to the head line where it now sits, from the unified diff."""

from __future__ import annotations

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError


def head_line_for_base(unified_diff: str, base_line: int) -> int | None:
    """The head line at the position of `base_line` (for a removed line: the line that follows it)."""
    if not unified_diff.strip():
        return None
    text = unified_diff if unified_diff.lstrip().startswith("---") else f"--- a/prompt\n+++ b/prompt\n{unified_diff}"
    if not text.endswith("\n"):
        text += "\n"
    try:
        patch = PatchSet(text)
    except UnidiffParseError:
        return None
    offset = 0  # head - base line shift accumulated before base_line
    for patched in patch:
        for hunk in patched:
            if base_line < hunk.source_start:
                return max(1, base_line + offset)
            last_target = hunk.target_start
            for line in hunk:
                if line.target_line_no:
                    last_target = line.target_line_no
                if line.source_line_no == base_line:
                    if line.target_line_no:
                        return line.target_line_no
                    # Removed: point at the next head line (or the last one of the hunk).
                    return _next_target(hunk, line) or max(1, last_target)
            offset = (hunk.target_start + hunk.target_length) - (hunk.source_start + hunk.source_length)
    return max(1, base_line + offset)


def _next_target(hunk, removed) -> int | None:
    seen = False
    for line in hunk:
        if line is removed:
            seen = True
        elif seen and line.target_line_no:
            return line.target_line_no
    return None
