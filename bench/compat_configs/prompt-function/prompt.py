def make_prompt(context):
    return 'Tell me about ' + context['vars']['topic']
