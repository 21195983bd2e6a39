#!/usr/bin/env bash
# CI for the Python client: a venv with the pinned requirements, the
# generated gRPC code, a dhakira server on a fresh temporary database, then
# example.py (import + lookups, checked) and the unit tests against it.
#
#   bash clients/python/ci.sh            # from any directory
#
# Environment:
#   DHAKIRA_BIN       the dhakira binary to serve with; unset: `cargo build`
#                     in the repository (honours CARGO_TARGET_DIR) and use
#                     ${CARGO_TARGET_DIR:-target}/debug/dhakira
#   DHAKIRA_CORPUS    folder holding flores200_devtest.tsv; unset: the
#                     repository's data/corpus
#   PYTHON            the interpreter that makes the venv (default python3)
#
# Needs only python3 (with its venv module) and cargo. Safe to run again:
# the venv in clients/python/.venv is reused, the code regenerated.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
started=$SECONDS

step() { printf '\n== python client: %s\n' "$*"; }
source "$here/lib.sh"

step "venv and requirements"
venv_with "$here/.venv" "$here/requirements.txt"
"$py" -c 'import grpc, google.protobuf, grpc_tools; print("grpcio", grpc.__version__, "protobuf", google.protobuf.__version__)'

step "generate"
"$py" "$here/generate.py"

dhakira_bin ci.sh

corpus="${DHAKIRA_CORPUS:-$repo/data/corpus}/flores200_devtest.tsv"
if [ ! -f "$corpus" ]; then
    echo "ci.sh: $corpus not found (set DHAKIRA_CORPUS to the folder holding it)" >&2
    exit 1
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/dhakira-pyclient.XXXXXX")"
server_pid=""
cleanup() {
    local status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -s "$workdir/server.log" ]; then
        echo "-- server log (last 30 lines):" >&2
        tail -n 30 "$workdir/server.log" >&2 || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "start $DHAKIRA_BIN"
"$DHAKIRA_BIN" serve --addr 127.0.0.1:0 --db "$workdir/db" --no-sample --drain-seconds 5 \
    >"$workdir/server.out" 2>"$workdir/server.log" </dev/null &
server_pid=$!

server_address ci.sh
echo "server at $addr (pid $server_pid, database $workdir/db)"
export DHAKIRA_ADDR="$addr"

step "example.py"
"$py" "$here/example.py" --addr "$addr" "$corpus"

step "unit tests"
(cd "$here" && "$py" test_client.py -v)

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "ci.sh: the server died during the tests" >&2
    exit 1
fi
echo "python client: ci.sh passed in $((SECONDS - started)) s"
