#!/usr/bin/env bash
# Weblate CI: the real Weblate (interop/weblate-requirements.txt) against a
# real Dhakira server with API keys (issue 21, findings 3, 6 and 7):
#   - Weblate's TMServerTranslation, configured with a URL only, the key in
#     the URL path and as HTTP Basic password;
#   - Weblate's MyMemoryTranslation, its base URL pointed at the server,
#     with the validation probe Weblate runs on a new service;
#   - Weblate's translation-memory import of a `dhakira export` TMX.
# Weblate's database is a throw-away PostgreSQL cluster started here (its
# migrations support PostgreSQL and MySQL, not SQLite). The Debian packages
# come from .ci/weblate-deps, the venv is clients/python/.venv-weblate
# (reused between runs).
#
#   bash clients/python/weblate.sh        # from any directory
#
# Environment: DHAKIRA_BIN (unset: `cargo build` in the repository, honouring
# CARGO_TARGET_DIR), PYTHON (the interpreter that makes the venv).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
started=$SECONDS

step() { printf '\n== weblate: %s\n' "$*"; }
source "$here/lib.sh"

step "Debian packages (.ci/weblate-deps)"
bash "$repo/.ci/weblate-deps"

step "venv and requirements"
venv_with "$here/.venv-weblate" "$here/interop/weblate-requirements.txt"
"$py" -m pip show weblate | sed -n 's/^Version: /weblate /p'

dhakira_bin weblate.sh

workdir="$(mktemp -d "${TMPDIR:-/tmp}/dhakira-weblate.XXXXXX")"
pgdir="$workdir/pg"
server_pid=""
pg_ctl=""
as_pg=()
cleanup() {
    local status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_ctl" ] && [ -f "$pgdir/data/postmaster.pid" ]; then
        "${as_pg[@]}" "$pg_ctl" stop -D "$pgdir/data" -m immediate >/dev/null 2>&1 || true
    fi
    if [ "$status" -ne 0 ]; then
        for log in "$workdir/server.log" "$pgdir/postgres.log"; do
            if [ -s "$log" ]; then
                echo "-- $log (last 30 lines):" >&2
                tail -n 30 "$log" >&2 || true
            fi
        done
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root: as root (CI), the cluster belongs to the
# `postgres` user Debian's package creates.
step "PostgreSQL cluster"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$pg_bin" ]; then
    pg_bin="$(dirname "$(command -v initdb)")"
fi
pg_ctl="$pg_bin/pg_ctl"
mkdir -p "$pgdir"
if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$workdir"
    chown postgres: "$pgdir"
    as_pg=(runuser -u postgres --)
fi
pg_port="$(free_port)"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U weblate --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
"${as_pg[@]}" "$pg_ctl" start -w -D "$pgdir/data" -l "$pgdir/postgres.log" \
    -o "-h 127.0.0.1 -p $pg_port -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U weblate weblate
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port ($pgdir/data)"

export WEBLATE_DB_PORT="$pg_port" WEBLATE_DATA_DIR="$workdir/weblate-data"
export DJANGO_SETTINGS_MODULE=weblate_settings PYTHONPATH="$here/interop"
mkdir -p "$WEBLATE_DATA_DIR"

step "Weblate migrations"
"$here/.venv-weblate/bin/weblate" migrate --noinput >"$workdir/migrate.log" 2>&1 || {
    tail -n 30 "$workdir/migrate.log" >&2
    exit 1
}
echo "$(grep -c '^  Applying ' "$workdir/migrate.log") migrations applied"

# A server with keys, holding the example pairs: `weblate` may read, what
# Weblate is given; the tests also export with it.
step "start $DHAKIRA_BIN with API keys"
"$DHAKIRA_BIN" import --db "$workdir/db" "$repo/data/examples/news-400.tsv" >/dev/null
read_key="weblate-read-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
DHAKIRA_API_KEYS="weblate:$read_key:read" \
    "$DHAKIRA_BIN" serve --addr 127.0.0.1:0 --db "$workdir/db" --no-sample --drain-seconds 5 \
    >"$workdir/server.out" 2>"$workdir/server.log" </dev/null &
server_pid=$!
server_address weblate.sh
echo "server at $addr (pid $server_pid, database $workdir/db)"
export DHAKIRA_ADDR="$addr" DHAKIRA_READ_KEY="$read_key"
export DHAKIRA_PAIRS="$repo/data/examples/news-400.tsv" DHAKIRA_WORKDIR="$workdir"

step "tests"
(cd "$here/interop" && "$py" -m unittest -v test_weblate)

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "weblate.sh: the server died during the tests" >&2
    exit 1
fi
echo "weblate: passed in $((SECONDS - started)) s"
