import os

import yaml


def get_assert(output, context):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.yaml")) as f:
        rules = yaml.safe_load(f)[context["vars"]["topic"]]
    text = output.lower()
    missing = [w for w in rules.get("must", []) if w.lower() not in text]
    banned = [w for w in rules.get("never", []) if w.lower() in text]
    ok = not missing and not banned
    return {"pass": ok, "score": 1.0 if ok else 0.0,
            "reason": "as expected" if ok else yaml.safe_dump({"missing": missing, "banned": banned}, default_flow_style=True).strip()}
