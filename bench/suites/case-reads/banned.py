import os


def get_assert(output, context):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "banned.txt")) as f:
        banned = [line.strip() for line in f if line.strip()]
    hit = [word for word in banned if word in output.lower()]
    return {"pass": not hit, "score": 0.0 if hit else 1.0, "reason": f"banned: {hit}" if hit else "clean"}
