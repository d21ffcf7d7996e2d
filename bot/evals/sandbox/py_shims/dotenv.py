"""The sandbox's `dotenv` (python-dotenv) for a provider written in Python: `load_dotenv()` loads nothing. A `.env`
file holds the team's secrets, which the sandbox never has; the code's os.environ already holds the placeholders of
the credentials prompt-review has (bot/evals/providers_code.py), which is what `load_dotenv()` would have put there.
Runs inside the sandbox: standard library only (bot/evals/sandbox/py.py).
"""

__version__ = "1.0.0+prompt-review-sandbox"


def load_dotenv(dotenv_path=None, stream=None, verbose=False, override=False, interpolate=True, encoding="utf-8"):
    return False


def dotenv_values(dotenv_path=None, stream=None, verbose=False, interpolate=True, encoding="utf-8"):
    return {}


def find_dotenv(filename=".env", raise_error_if_not_found=False, usecwd=False):
    if raise_error_if_not_found:
        raise OSError("File not found")
    return ""


def get_key(dotenv_path, key_to_get, encoding="utf-8"):
    return None
