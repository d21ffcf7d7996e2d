#!/usr/bin/env bash
# Installs everything the tests need, type-checks `bot` with mypy and runs the tests: the README's test
# command, and what .ci/run calls.
#   - a virtualenv at .venv with prompt-review and its test extras, and the SDK (sdk/python)
#   - esbuild's binary (npm, tools/esbuild): TypeScript suite code is transpiled by it before it runs
#   - GitHub's pinned OpenAPI description, webhook examples and webhook schemas (npm, tests/contract)
#   - a throwaway PostgreSQL cluster on a loopback port for the scale-out tests
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/python -m pip install -q -e './sdk/python[test]'  # the SDK (its own distribution; pytest collects sdk/python/tests)

if [ ! -d tests/contract/node_modules/@octokit/openapi ] || [ ! -d tests/contract/node_modules/@octokit/webhooks-examples ] \
   || [ ! -d tests/contract/node_modules/@octokit/webhooks-schemas ]; then
  (cd tests/contract && npm ci --no-audit --no-fund --loglevel=error)
fi

# esbuild's native binary (tools/esbuild): strips TypeScript suite code's types for the sandbox (docs/sandbox.md)
if [ ! -d tools/esbuild/node_modules/@esbuild ]; then
  (cd tools/esbuild && npm ci --no-audit --no-fund --loglevel=error)
fi

# PostgreSQL: use the machine's server binaries, installing Debian's package when absent.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing PostgreSQL server from Debian packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$pg_bin" ]; then
  echo "error: PostgreSQL server binaries not found (install the 'postgresql' package); the scale-out tests need them" >&2
  exit 2
fi

# Chromium for the /ui/ browser tests: Debian's chromium and chromium-driver (selenium drives them; no browser download).
if { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium and chromium-driver from Debian packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) >&2
fi

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/prompt-review-pg.XXXXXX")
pgport=$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$pgdir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-h 127.0.0.1 -p $pgport -k $pgdir -F -c max_connections=200" start >/dev/null
export PROMPT_REVIEW_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pgport/postgres"
export PROMPT_REVIEW_TEST_PG_BIN="$pg_bin"
export PROMPT_REVIEW_TEST_PG_DATA="$pgdir/data"

# The types between stages are checked before any test runs (configuration: [tool.mypy] in pyproject.toml).
.venv/bin/python -m mypy bot

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
