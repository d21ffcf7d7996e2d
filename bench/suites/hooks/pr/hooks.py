"""One function for every hook (promptfoo calls it with the hook's name): beforeAll adds a test and a default
assertion, beforeEach swaps the assertions of tagged tests, afterEach and afterAll only log."""

import logging
import os

HERE = os.path.dirname(os.path.abspath(__file__))
logging.basicConfig(filename=os.path.join(HERE, "hooks.log"), level=logging.INFO)


def extension_hook(hook_name, context):
    logging.info("hook %s", hook_name)
    if hook_name == "beforeAll":
        suite = context["suite"]
        suite["tests"].append({"description": "added by the hook", "vars": {"message": "added words"},
                               "assert": [{"type": "equals", "value": "added words"}]})
        suite["defaultTest"]["assert"].append({"type": "not-icontains", "value": "there"})
        return context
    if hook_name == "beforeEach":
        test = context["test"]
        if (test.get("metadata") or {}).get("tag") == "swap":
            test["assert"] = [{"type": "equals", "value": test["vars"]["message"]}]
            return context
        if (test.get("metadata") or {}).get("tag") == "mutate":
            test["vars"]["message"] = "changed"  # a Python hook gets a copy: without a return this changes nothing
        return None
    if hook_name == "afterEach":
        return {"result": {"namedScores": {"ignored": 1}}}
    return None
