def get_assert(output, context):
    return {"pass": "parcel" in output, "score": 1.0 if "parcel" in output else 0.0, "reason": "looked for parcel"}


def has_digit(output, context):
    return any(ch.isdigit() for ch in output)
