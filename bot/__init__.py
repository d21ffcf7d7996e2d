"""prompt-review: review pull requests that change LLM prompts."""

from pathlib import Path

__version__ = "0.1.0"


def templates_dir() -> Path:
    """Where the jinja2 templates live: inside the wheel, or the repo's top-level templates/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("prompt-review templates are missing from this installation")
