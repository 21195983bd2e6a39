#!/usr/bin/env bash
# Interop CI: Dhakira's TMX export and REST facades checked with the real
# libraries translators' tools use (issue 21): translate-toolkit reads the
# exports, and TMX files from Okapi's test suites (data/interop/okapi) come
# back from an import and export unit for unit. A venv of its own (clients/python/.venv-interop, reused between
# runs) with the exact pins of interop/requirements.txt.
#
#   bash clients/python/interop.sh        # from any directory
#
# Environment: DHAKIRA_BIN (unset: `cargo build` in the repository, honouring
# CARGO_TARGET_DIR), PYTHON (the interpreter that makes the venv).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
started=$SECONDS

step() { printf '\n== interop: %s\n' "$*"; }
source "$here/lib.sh"

step "venv and requirements"
venv_with "$here/.venv-interop" "$here/interop/requirements.txt"
"$py" -c 'import translate.__version__ as v; print("translate-toolkit", v.sver)'

dhakira_bin interop.sh

step "tests"
(cd "$here/interop" && "$py" -m unittest -v test_export test_okapi)
echo "interop: passed in $((SECONDS - started)) s"
