"""The support bot: sends the system prompt and the customer's question to the model."""

from pathlib import Path

from openai import OpenAI

SYSTEM_PROMPT = (Path(__file__).parent.parent / "prompts" / "support" / "system.md").read_text(encoding="utf-8").strip()


def reply(question: str, model: str = "gpt-4o-mini") -> str:
    client = OpenAI()
    response = client.chat.completions.create(
        model=model,
        temperature=0,
        messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}],
    )
    return response.choices[0].message.content or ""
