from anthropic import Anthropic


def call_api(prompt, options, context):
    message = Anthropic().messages.create(model="claude-sonnet-4-0", max_tokens=200,
                                          messages=[{"role": "user", "content": prompt}])
    return {"output": message.content[0].text,
            "tokenUsage": {"prompt": message.usage.input_tokens, "completion": message.usage.output_tokens}}
