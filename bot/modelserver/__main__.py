"""`python -m bot.modelserver --port N --latency-ms L`: run the scripted model server (a test double)."""

from __future__ import annotations

import argparse

import uvicorn

from bot.modelserver.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.modelserver",
        description="Scripted OpenAI/Anthropic-compatible model server for tests and the offline demo (not a real model).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer (default 0)")
    parser.add_argument("--api-key", default=None, help="require this key (Authorization: Bearer / x-api-key)")
    args = parser.parse_args(argv)
    print(f"scripted model server (test double) on http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(create_app(args.latency_ms, api_key=args.api_key), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
