"""The /ui/ web pages (sign-in with GitHub, repositories, prompt history with charts, full reviews,
deploy/rollback buttons) and `prompt-review history`. The router lives in bot.ui.routes; importing the
package does not load the web stack (the `history` verb needs none of it)."""
