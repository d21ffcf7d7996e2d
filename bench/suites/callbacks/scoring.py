def exact_only(named_scores, context):
    score = named_scores.get("exact", 0)
    return {"pass": score >= context.get("threshold", 0.7), "score": score,
            "reason": f"exact {score} of {len(context['componentResults'])} results"}
