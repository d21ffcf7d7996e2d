QUESTIONS = ["Can I return a blender after 40 days?", "Is shipping refunded?"]


def generate_tests(config=None):
    tone = (config or {}).get("tone", "plain")
    return [{"description": q, "vars": {"question": q, "tone": tone},
             "assert": [{"type": "icontains", "value": "30 days"}]} for q in QUESTIONS]
