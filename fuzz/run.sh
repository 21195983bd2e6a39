#!/usr/bin/env bash
# Fuzzes the library for a bounded time: one fuzz target, or each in turn.
#
#   fuzz/run.sh [SECONDS] [TARGET] [LIBFUZZER_ARGS...]       (default: 600 s, tmx_reader)
#   fuzz/run.sh --target TARGET [SECONDS] [LIBFUZZER_ARGS...]
#   fuzz/run.sh --all [SECONDS] [LIBFUZZER_ARGS...]          (each target for SECONDS)
#   DHAKIRA_FUZZ_TARGET=TARGET fuzz/run.sh [SECONDS] ...
#   fuzz/run.sh --seed DIR     (writes each target's seeds into DIR/TARGET, no fuzzing)
#
# Targets: tmx_reader (the TMX reader), normalizer (text analysis: words,
# tokens, segments), request_validation (gRPC requests decoded, validated and
# run on an in-memory memory), lookup_reference (index lookups against the
# reference implementation; its saved corpus, fuzz/saved/lookup_reference,
# is tracked and replayed by `cargo test`). As before, `fuzz/run.sh 600 -jobs=1` fuzzes
# tmx_reader: a second argument that is not a target name is a libFuzzer
# argument.
#
# Each target gets its seeds (copied or generated at run time, not tracked),
# its dictionary (fuzz/<dict>) and its -max_len. The corpus grows in
# fuzz/corpus/TARGET/, crashes land in fuzz/artifacts/TARGET/ (both
# git-ignored); builds go to fuzz/target/.
#
# tmx_reader seeds: tests/data/tmx/*.tmx and generated documents at the
# reader's limits. normalizer seeds: lines of the shared corpus
# ($DHAKIRA_CORPUS, else the repository's data/corpus; skipped
# when absent). request_validation seeds: protobuf messages written below.
#
# DHAKIRA_FUZZ_REV=<git revision> fuzzes that commit of the library instead
# of the working tree (useful while the checkout is being edited): its tree
# is exported with `git archive` into fuzz/target/rev/<commit>/, with this
# fuzz directory copied into it. Corpus and artifacts stay in fuzz/.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$fuzz_dir")"
targets=(tmx_reader normalizer request_validation lookup_reference)

usage() {
    cat >&2 <<EOF
usage: $0 [SECONDS] [TARGET] [LIBFUZZER_ARGS...]
       $0 --target TARGET [SECONDS] [LIBFUZZER_ARGS...]
       $0 --all [SECONDS] [LIBFUZZER_ARGS...]
       $0 --seed DIR
SECONDS: a positive integer (default 600), per target. TARGET: ${targets[*]}
(default \$DHAKIRA_FUZZ_TARGET, else tmx_reader).
EOF
    exit 2
}

is_target() {
    local t
    for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}

selected=()
all=false
seed_dir=""
target="${DHAKIRA_FUZZ_TARGET:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --all) all=true; shift ;;
        --target) [ $# -ge 2 ] || usage; target="$2"; shift 2 ;;
        --target=*) target="${1#--target=}"; shift ;;
        --seed) [ $# -ge 2 ] || usage; seed_dir="$2"; shift 2 ;;
        -h | --help) usage ;;
        *) break ;;
    esac
done
seconds=600
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
    seconds="$1"
    shift
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    usage
fi
# Backward compatible: a second argument that names a target picks it;
# anything else is left to libFuzzer.
if [ $# -gt 0 ] && is_target "$1"; then
    target="$1"
    shift
fi
if $all; then
    selected=("${targets[@]}")
else
    target="${target:-tmx_reader}"
    is_target "$target" || { echo "unknown target: $target" >&2; usage; }
    selected=("$target")
fi

# --- Seeds -------------------------------------------------------------------

seed_tmx_reader() { # seed_tmx_reader CORPUS
    local corpus="$1" seed copy
    # The reader's test fixtures (copied, not tracked: fuzz/corpus is ignored).
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
    local header="$corpus/seed-header-metadata.tmx"
    [ -e "$header" ] || printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
        '<tmx version="1.4"><header srclang="en" o-tmf="x"><note>n &amp; m</note><prop type="x-memory">news</prop></header>' \
        '<body>' "$(unit ' tuid="1"' '' y)" '</body></tmx>' >"$header"
}

seed_normalizer() { # seed_normalizer CORPUS
    local corpus="$1" texts="${DHAKIRA_CORPUS:-$repo_dir/data/corpus}" name file
    # Real news sentences, each side alone, and paragraphs of ten lines (for
    # segmentation); software strings with placeholders and tags.
    for name in ntrex128 flores200_devtest; do
        file="$texts/$name.tsv"
        if [ ! -f "$file" ]; then
            echo "no $file: normalizer seeds from it skipped" >&2
            continue
        fi
        [ -e "$corpus/seed-$name-1-ar" ] || head -n 200 "$file" | awk -F'\t' -v p="$corpus/seed-$name-" '{
            printf "%s", $1 > (p NR "-ar"); close(p NR "-ar")
            printf "%s", $2 > (p NR "-en"); close(p NR "-en")
        }'
        [ -e "$corpus/seed-$name-paragraph-ar" ] || head -n 10 "$file" | cut -f1 >"$corpus/seed-$name-paragraph-ar"
        [ -e "$corpus/seed-$name-paragraph-en" ] || head -n 10 "$file" | cut -f2 >"$corpus/seed-$name-paragraph-en"
    done
    file="$texts/l10n_django.tsv"
    if [ -f "$file" ] && [ ! -e "$corpus/seed-l10n-1-ar" ]; then
        grep -m 50 -E '%[0-9$.]*[a-zA-Z]|\{[a-z0-9_]*\}|<[a-z]+>' "$file" | awk -F'\t' -v p="$corpus/seed-l10n-" '{
            printf "%s", $1 > (p NR "-ar"); close(p NR "-ar")
            printf "%s", $2 > (p NR "-en"); close(p NR "-en")
        }' || true
    fi
    # Hand-written: what the rules are about (bidi controls, tashkeel and
    # tatweel, abbreviations, placeables; presentation forms, ligatures and
    # numbers that NFKC expands, line and paragraph separators).
    local odd="$corpus/seed-odd"
    # shellcheck disable=SC2059 # formats with \xNN escapes only
    [ -e "$odd" ] || {
        printf '\xe2\x80\x8f\xd9\x83\xd9\x8e\xd8\xb4\xd9\x8e\xd9\x81\xd9\x8e\xd8\xaa\xd9\x92 Tencent\xe2\x80\x8e\xd8\x8c \xd9\x86\xd9\x85\xd9\x80\xd9\x80\xd9\x80\xd9\x88\xd8\xb0\xd8\xac Qwen-7B-Chat.\n'
        printf '%s\n' \
            'Mr. Smith met Dr. Brown in the U.S. on Oct. 3. "Really?!" No. 5 is J. K. Rowling, e.g. this. He paused... Then left.' \
            'قال د. أحمد: «هذا إنجاز!» وأضاف أ.د. محمد؟ نعم۔ 1,000.5 ۱۲ ٢٠٢٣ ٣٫٥ بـ5 و15 13-year-old COVID-19' \
            'See https://qwenlm.github.io/blog/qwen2/, press@tencent.com or @AIatMeta: %s %1$d {0} $1 <b>x</b> %(name)s'
        printf '\xef\xbb\xbb \xef\xb7\xba \xef\xb9\xb0 \xc2\xbd \xe2\x91\xb4 Caf\xc3\xa9 \xc4\xb0stanbul \xc3\x9f\xe2\x80\xa8line\xe2\x80\xa9para\x0d\x0aend \xe2\x81\xa6x\xe2\x81\xa9 \xc2\xad\n'
    } >"$odd"
}

# Protobuf, as hex: enough of the wire format for hand-written seeds.
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
varint() { # varint N
    local n="$1" out=""
    while [ "$n" -ge 128 ]; do
        out+=$(printf '%02x' $(((n & 127) | 128)))
        n=$((n >> 7))
    done
    printf '%s%02x' "$out" "$n"
}
pb_str() { printf '%s%s%s' "$(varint $(($1 << 3 | 2)))" "$(varint $(($(printf '%s' "$2" | wc -c))))" "$(hex "$2")"; }
pb_msg() { printf '%s%s%s' "$(varint $(($1 << 3 | 2)))" "$(varint $((${#2} / 2)))" "$2"; } # pb_msg FIELD HEX
pb_int() { printf '%s%s' "$(varint $(($1 << 3)))" "$(varint "$2")"; }

seed_request_validation() { # seed_request_validation CORPUS
    local corpus="$1"
    # pb_seed NAME SELECTOR HEX: the selector byte picks the message (see
    # request_validation.rs): 0 Lookup, 1 AddUnits, 2 UpdateUnit,
    # 3 Concordance, 4 Analyze, 5 DeleteUnits, 6 Import.
    pb_seed() {
        local file="$corpus/seed-$1"
        # shellcheck disable=SC2059 # the format is only \xNN escapes
        [ -e "$file" ] || printf "$(printf '%02x%s' "$2" "$3" | sed 's/../\\x&/g')" >"$file"
    }
    local unit_ar unit_en
    unit_ar='أعلنت شركة Tencent عن نموذج Hunyuan الجديد.'
    unit_en='Tencent announced its new Hunyuan model.'
    pb_seed lookup-ar 0 "$(pb_str 1 'أعلنت شركة Tencent عن نموذج جديد.')$(pb_str 2 ar)$(pb_int 3 50)$(pb_int 4 10)"
    pb_seed lookup-en-scoped 0 "$(pb_str 1 "$unit_en")$(pb_str 2 en-US)$(pb_int 6 1)$(pb_str 5 default)$(pb_str 5 news)$(
        pb_msg 7 "$(pb_str 1 news)$(pb_int 2 3)")$(pb_msg 8 "$(pb_str 1 tech)$(pb_str 2 acme)")$(
        pb_msg 9 "$(pb_int 1 1)$(pb_str 2 tech)$(pb_int 3 5)")$(pb_str 10 'قال المتحدث إن النموذج يدعم اللغة العربية.')$(
        pb_msg 12 "$(pb_int 1 365)$(pb_int 2 10)")"
    pb_seed add-units 1 "$(pb_msg 1 "$(pb_str 1 'مرحبا بالعالم')$(pb_str 2 'Hello world')$(pb_str 3 news)$(pb_str 5 tech)$(
        pb_int 8 1700000000000)$(pb_msg 14 "$(pb_str 1 origin)$(pb_str 2 seed)")$(pb_str 17 'Hi.')")$(
        pb_msg 1 "$(pb_str 1 "$unit_ar")$(pb_str 2 "$unit_en")")"
    pb_seed update-unit 2 "$(pb_int 1 1)$(pb_msg 2 "$(pb_str 2 'Hello')$(pb_str 7 'a note')")$(pb_str 3 english)$(
        pb_str 3 note)$(pb_str 4 reviewer)"
    pb_seed concordance 3 "$(pb_str 1 'نموذج')$(pb_str 2 ar)$(pb_int 5 2)"
    pb_seed analyze-text 4 "$(pb_str 2 "$unit_ar وأضاف أن العمل مستمر. هل سيصل إلى الأسواق قريبًا؟")$(pb_str 3 ar)$(pb_int 7 1)"
    pb_seed analyze-segments 4 "$(pb_str 1 Save)$(pb_str 1 Cancel)$(pb_str 1 Save)$(pb_str 3 en)$(pb_str 4 ui)$(
        pb_msg 6 "$(pb_str 1 ui)$(pb_int 2 2)")"
    pb_seed delete-units 5 "$(pb_str 1 ui)$(pb_msg 2 "$(pb_str 2 gnome)$(pb_int 5 1600000000000)")$(pb_int 3 1)"
    pb_seed import-options 6 "$(pb_msg 1 "$(pb_str 1 tsv)$(pb_str 2 imported)$(pb_int 3 1)$(pb_str 4 ar)$(
        pb_str 5 news)$(pb_str 7 file.tsv)")"
    pb_seed import-tsv 6 "$(pb_str 2 $'مرحبا\tHello\nشكرا\tThanks\n\tno Arabic\n')"
    pb_seed import-csv 6 "$(pb_str 2 $'arabic,english,domain,x-origin\nمرحبا,Hello,tech,seed\n')"
    pb_seed import-tmx 6 "$(pb_str 2 '<?xml version="1.0"?><tmx version="1.4"><header srclang="ar"/><body><tu tuid="7"><prop type="x-dhakira-memory">news</prop><tuv xml:lang="ar"><seg>مرحبا <ph>x</ph></seg></tuv><tuv xml:lang="en"><seg>Hello</seg></tuv></tu></body></tmx>')"
    pb_seed import-units 6 "$(pb_msg 3 "$(pb_msg 1 "$(pb_str 1 'شكرا')$(pb_str 2 'Thanks')")$(pb_msg 1 "$(pb_str 2 'no Arabic')")")"
}

seed_lookup_reference() { # seed_lookup_reference CORPUS
    local seed
    # The saved corpus (tracked; `cargo test` replays it): copy new finds
    # worth keeping from fuzz/corpus/lookup_reference back into it.
    [ "$1" -ef "$fuzz_dir/saved/lookup_reference" ] && return 0
    for seed in "$fuzz_dir"/saved/lookup_reference/*; do
        [ -e "$1/seed-$(basename "$seed")" ] || cp "$seed" "$1/seed-$(basename "$seed")"
    done
}

if [ -n "$seed_dir" ]; then
    for target in "${targets[@]}"; do
        mkdir -p "$seed_dir/$target"
        "seed_$target" "$seed_dir/$target"
    done
    exit 0
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz…" >&2
    cargo install cargo-fuzz --locked
fi

# --- Build directory ---------------------------------------------------------

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
    cp -r "$fuzz_dir/Cargo.toml" "$fuzz_dir/Cargo.lock" "$fuzz_dir/fuzz_targets" "$fuzz_dir/checks" "$snapshot/fuzz/"
    build_dir="$snapshot/fuzz"
    echo "fuzzing dhakira at $commit ($DHAKIRA_FUZZ_REV)" >&2
else
    echo "fuzzing dhakira in the working tree $repo_dir" >&2
fi

# --- Runs --------------------------------------------------------------------

run_target() { # run_target TARGET LIBFUZZER_ARGS...
    local target="$1" dict max_len
    shift
    case "$target" in
        tmx_reader) dict=tmx.dict max_len=65536 ;;
        # Text analysis is linear: longer inputs only slow it down.
        normalizer) dict=normalizer.dict max_len=8192 ;;
        request_validation) dict=request.dict max_len=65536 ;;
        # Small memories: every input builds one and scans it twice.
        lookup_reference) dict=normalizer.dict max_len=4096 ;;
    esac
    local corpus="$fuzz_dir/corpus/$target" artifacts="$fuzz_dir/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    "seed_$target" "$corpus"
    echo "== $target: $seconds s" >&2
    cargo +nightly fuzz run \
        --fuzz-dir "$build_dir" \
        --target-dir "$fuzz_dir/target" \
        "$target" "$corpus" \
        -- \
        -max_total_time="$seconds" \
        -max_len="$max_len" \
        -rss_limit_mb=2048 \
        -timeout=30 \
        -dict="$fuzz_dir/$dict" \
        -artifact_prefix="$artifacts/" \
        -print_final_stats=1 \
        "$@"
}

start=$(date +%s)
status=0
failed=()
for target in "${selected[@]}"; do
    run_target "$target" "$@" || { status=$?; failed+=("$target"); }
done
echo "wall time: $(($(date +%s) - start)) s (builds included), exit status $status${failed[*]:+ (failed: ${failed[*]})}" >&2
exit "$status"
