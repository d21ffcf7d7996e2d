from pathlib import Path


def render(context):
    template = (Path(__file__).parent / "templates" / "shout.txt").read_text()
    return template.strip().replace("WORD", context["vars"]["word"].upper())
