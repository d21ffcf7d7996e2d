import os

from openai import AsyncOpenAI, OpenAI

client = OpenAI()


def call_api(prompt, options, context):
    config = options.get("config", {})
    completion = client.chat.completions.create(
        model=config.get("model", "gpt-4o-mini"),
        temperature=config["settings"]["temperature"],
        messages=[{"role": "user", "content": prompt}],
    )
    text = completion.choices[0].message.content.upper() + config["extra"]["suffix"]
    usage = completion.usage
    return {"output": text, "tokenUsage": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens}}


async def async_call(prompt, options, context):
    completion = await AsyncOpenAI().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    return {"output": completion.choices[0].message.content}


def responses_call(prompt, options, context):
    answer = client.responses.create(model="gpt-4o-mini", input=prompt)
    return {"output": answer.output_text}
