"""The /ui/ web pages (sign-in with GitHub, repositories, prompt history with charts, full reviews,
deploy/rollback buttons) and `prompt-review history`."""

from bot.ui.routes import create_ui_router

__all__ = ["create_ui_router"]
