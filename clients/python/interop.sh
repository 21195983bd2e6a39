#!/usr/bin/env bash
# Interop CI: Dhakira's TMX export and REST facades checked with the real
# libraries translators' tools use (issue 21): translate-toolkit reads the
# exports. A venv of its own (clients/python/.venv-interop, reused between
# runs) with the exact pins of interop/requirements.txt.
#
#   bash clients/python/interop.sh        # from any directory
#
# Environment: DHAKIRA_BIN (unset: `cargo build` in the repository, honouring
# CARGO_TARGET_DIR), PYTHON (the interpreter that makes the venv).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv-interop"
py="$venv/bin/python"
started=$SECONDS

step() { printf '\n== interop: %s\n' "$*"; }

step "venv and requirements"
if ! "$py" -c 'import sys' 2>/dev/null; then
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$py" -m pip install --quiet --disable-pip-version-check -r "$here/interop/requirements.txt"
"$py" -c 'import translate.__version__ as v; print("translate-toolkit", v.sver)'

if [ -z "${DHAKIRA_BIN:-}" ]; then
    step "cargo build"
    (cd "$repo" && cargo build --bin dhakira)
    target_dir="${CARGO_TARGET_DIR:-target}"
    case "$target_dir" in
        /*) ;;
        *) target_dir="$repo/$target_dir" ;;
    esac
    DHAKIRA_BIN="$target_dir/debug/dhakira"
fi
[ -x "$DHAKIRA_BIN" ] || { echo "interop.sh: no dhakira binary at $DHAKIRA_BIN" >&2; exit 1; }
export DHAKIRA_BIN

step "tests"
(cd "$here/interop" && "$py" -m unittest -v test_export)
echo "interop: passed in $((SECONDS - started)) s"
