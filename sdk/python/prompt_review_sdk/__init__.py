"""prompt-review's client SDK: deployed prompts by label with rollout arms, and telemetry per version."""

from prompt_review_sdk.assign import bucket
from prompt_review_sdk.client import AsyncPromptClient, Prompt, PromptClient, PromptUnavailable
from prompt_review_sdk.render import RenderError

__version__ = "0.1.0"
__all__ = ["AsyncPromptClient", "Prompt", "PromptClient", "PromptUnavailable", "RenderError", "bucket", "__version__"]
