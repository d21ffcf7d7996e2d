def get_assert(output, context):
    return {'pass': len(output) > 0, 'score': min(1.0, len(output) / 100), 'reason': 'length'}
