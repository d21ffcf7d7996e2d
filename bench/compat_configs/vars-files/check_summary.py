def is_short(output, context):
    return len(output.split()) < len(context['vars']['article'].split()) * 2 + 50
