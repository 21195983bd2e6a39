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

# server_address SCRIPT: waits (up to 60 s) for the server started in the
# background as $server_pid to print its first stdout line into
# $workdir/server.out, `dhakira listening on 127.0.0.1:PORT`, and sets
# `addr`. `read` succeeds only on a whole line, so a half-written one is not
# taken.
server_address() {
    addr=""
    local line
    for _ in $(seq 1 600); do
        if IFS= read -r line <"$workdir/server.out"; then
            case "$line" in
                "dhakira listening on "*) addr="${line#dhakira listening on }" ;;
                *) echo "$1: unexpected first line from the server: $line" >&2; exit 1 ;;
            esac
            return
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "$1: the server exited before listening" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$1: the server did not print its address within 60 s" >&2
    exit 1
}
