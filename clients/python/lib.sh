# Shared by ci.sh and interop.sh (sourced, after `here`, `repo` and `step`
# are set).

# venv_with VENV REQUIREMENTS: the venv at VENV (made with $PYTHON, default
# python3, when missing or broken) with the pinned REQUIREMENTS installed;
# sets `py` to its interpreter.
venv_with() {
    py="$1/bin/python"
    if ! "$py" -c 'import sys' 2>/dev/null; then
        rm -rf "$1"
        "${PYTHON:-python3}" -m venv "$1"
    fi
    "$py" -m pip install --quiet --disable-pip-version-check -r "$2"
}

# dhakira_bin SCRIPT: exports DHAKIRA_BIN, the binary to serve with: as
# given, else `cargo build` in the repository (honouring CARGO_TARGET_DIR).
dhakira_bin() {
    if [ -z "${DHAKIRA_BIN:-}" ]; then
        step "cargo build"
        (cd "$repo" && cargo build --bin dhakira)
        local target_dir="${CARGO_TARGET_DIR:-target}"
        case "$target_dir" in
            /*) ;;
            *) target_dir="$repo/$target_dir" ;; # cargo ran in the repository
        esac
        DHAKIRA_BIN="$target_dir/debug/dhakira"
    fi
    if [ ! -x "$DHAKIRA_BIN" ]; then
        echo "$1: no dhakira binary at $DHAKIRA_BIN" >&2
        exit 1
    fi
    export DHAKIRA_BIN
}
