import os

import httpx
import requests

BASE = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")


def _body(prompt):
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}


def _headers():
    return {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}


def requests_call(prompt, options, context):
    r = requests.post(BASE + "/chat/completions", json=_body(prompt), headers=_headers(), timeout=30)
    r.raise_for_status()
    return {"output": r.json()["choices"][0]["message"]["content"]}


def httpx_call(prompt, options, context):
    with httpx.Client(timeout=30) as client:
        r = client.post(BASE + "/chat/completions", json=_body(prompt), headers=_headers())
    if r.status_code != 200:
        return {"error": "HTTP %d" % r.status_code}
    return {"output": r.json()["choices"][0]["message"]["content"].upper()}


def urllib_call(prompt, options, context):
    import json
    import urllib.request

    req = urllib.request.Request(BASE + "/chat/completions", data=json.dumps(_body(prompt)).encode("utf-8"),
                                 headers={**_headers(), "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        data = json.loads(resp.read().decode("utf-8"))
    return {"output": data["choices"][0]["message"]["content"].title()}
