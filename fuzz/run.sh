#!/usr/bin/env bash
# Fuzzes the TMX reader (fuzz target `tmx_reader`) for a bounded time.
#
#   fuzz/run.sh [SECONDS] [LIBFUZZER_ARGS...]     (default: 600 seconds)
#
# Seeds the corpus with tests/data/tmx/*.tmx and generated documents at the
# reader's limits, and uses fuzz/tmx.dict. The corpus grows in
# fuzz/corpus/tmx_reader/, crashes land in fuzz/artifacts/tmx_reader/ (both
# git-ignored); builds go to fuzz/target/.
#
# DHAKIRA_FUZZ_REV=<git revision> fuzzes that commit of the library instead
# of the working tree (useful while the checkout is being edited): its tree
# is exported with `git archive` into fuzz/target/rev/<commit>/, with this
# fuzz directory copied into it. Corpus and artifacts stay in fuzz/.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$fuzz_dir")"
target=tmx_reader

seconds="${1:-600}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS] [LIBFUZZER_ARGS...]  (SECONDS: a positive integer, default 600)" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz…" >&2
    cargo install cargo-fuzz --locked
fi

corpus="$fuzz_dir/corpus/$target"
artifacts="$fuzz_dir/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
# Seeds: the reader's test fixtures (copied, not tracked: fuzz/corpus is ignored).
for seed in "$repo_dir"/tests/data/tmx/*.tmx; do
    copy="$corpus/seed-$(basename "$seed")"
    [ -e "$copy" ] || cp "$seed" "$copy"
done

# Seeds at the reader's size limits (the fixtures are under 2 KB, and
# libFuzzer grows inputs only slowly beyond its largest seed): for each
# limit, a unit just at it and one just over it.
repeat() { printf "%.0s$1" $(seq "$2"); } # repeat TEXT COUNT
# unit TU_ATTRIBUTES METADATA ENGLISH_SEGMENT
unit() {
    printf '<tu%s>%s<tuv xml:lang="ar"><seg>x</seg></tuv><tuv xml:lang="en"><seg>%s</seg></tuv></tu>\n' "$@"
}
seed() { # seed NAME UNITS…
    local file="$corpus/seed-limit-$1.tmx"
    shift
    [ -e "$file" ] || printf '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="en"/><body>\n%s</body></tmx>\n' "$*" >"$file"
}
seed segment "$(unit '' '' "$(repeat a 10000)")" "$(unit '' '' "$(repeat a 10001)")"
seed code "$(unit '' '' "x<ph>$(repeat a 10000)</ph>")" "$(unit '' '' "x<ph>$(repeat a 10001)</ph>")"
seed metadata "$(unit " creationid=\"$(repeat c 2000)\"" '' y)" "$(unit " creationid=\"$(repeat c 2001)\"" '' y)" \
    "$(unit '' "<note>$(repeat n 2000)</note>" y)" "$(unit '' "<prop type=\"t\">$(repeat p 2001)</prop>" y)" \
    "$(unit '' "$(repeat '<note>n</note>' 64)" y)" "$(unit '' "$(repeat '<note>n</note>' 65)" y)"
seed tags "$(unit '' '' "y$(repeat '<ph/>' 256)")" "$(unit '' '' "y$(repeat '<ph/>' 257)")" \
    "$(unit "$(printf ' a%d="v"' $(seq 32))" '' y)" "$(unit "$(printf ' a%d="v"' $(seq 33))" '' y)" \
    "$(unit '' '' "$(repeat '<hi>' 16)y$(repeat '</hi>' 16)")" "$(unit '' '' "$(repeat '<hi>' 17)y$(repeat '</hi>' 17)")"
seed variants "$(unit '' "$(repeat '<tuv xml:lang="fr"><seg>f</seg></tuv>' 30)" y)" \
    "$(unit '' "$(repeat '<tuv xml:lang="fr"><seg>f</seg></tuv>' 31)" y)" "$(unit '' '<note><![CDATA[a<b]]></note>' y)"
# A header with metadata (none of the fixtures has one).
header="$corpus/seed-header-metadata.tmx"
[ -e "$header" ] || printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
    '<tmx version="1.4"><header srclang="en" o-tmf="x"><note>n &amp; m</note><prop type="x-memory">news</prop></header>' \
    '<body>' "$(unit ' tuid="1"' '' y)" '</body></tmx>' >"$header"

build_dir="$fuzz_dir"
if [ -n "${DHAKIRA_FUZZ_REV:-}" ]; then
    commit="$(git -C "$repo_dir" rev-parse --verify "${DHAKIRA_FUZZ_REV}^{commit}")"
    snapshot="$fuzz_dir/target/rev/$commit"
    if [ ! -f "$snapshot/Cargo.toml" ]; then
        rm -rf "$snapshot.tmp"
        mkdir -p "$snapshot.tmp"
        git -C "$repo_dir" archive "$commit" | tar -x -C "$snapshot.tmp"
        mv "$snapshot.tmp" "$snapshot"
    fi
    # The fuzz crate itself always comes from this directory.
    rm -rf "$snapshot/fuzz"
    mkdir -p "$snapshot/fuzz"
    cp -r "$fuzz_dir/Cargo.toml" "$fuzz_dir/Cargo.lock" "$fuzz_dir/fuzz_targets" "$snapshot/fuzz/"
    build_dir="$snapshot/fuzz"
    echo "fuzzing dhakira at $commit ($DHAKIRA_FUZZ_REV)" >&2
else
    echo "fuzzing dhakira in the working tree $repo_dir" >&2
fi

start=$(date +%s)
status=0
cargo +nightly fuzz run \
    --fuzz-dir "$build_dir" \
    --target-dir "$fuzz_dir/target" \
    "$target" "$corpus" \
    -- \
    -max_total_time="$seconds" \
    -max_len=65536 \
    -rss_limit_mb=2048 \
    -timeout=30 \
    -dict="$fuzz_dir/tmx.dict" \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$@" || status=$?
echo "wall time: $(($(date +%s) - start)) s (build included), exit status $status" >&2
exit "$status"
