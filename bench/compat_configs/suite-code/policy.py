POLICY = {"return": "Returns are accepted within 30 days of delivery.", "shipping": "Shipping is not refunded."}


def get_var(var_name, prompt, other_vars):
    question = other_vars.get("question", "").lower()
    key = "shipping" if "shipping" in question else "return"
    return {"output": POLICY[key]}
