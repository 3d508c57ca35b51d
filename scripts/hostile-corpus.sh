#!/usr/bin/env bash
# Hostile-input corpus (issue #15 points 4-6): generates >= 40 broken LAS/LAZ inputs from
# testdata/ (scripts/hostile_corpus.py, stdlib byte edits), runs every command that takes point
# files on each under /usr/bin/time -v, and prints case -> command -> rc -> signal -> peak RSS ->
# first error line. Fails (exit 1) when a run panics, dies by a signal (rc >= 128), peaks above
# 500 MB RSS, exits 0 on an invalid input, or (expect=warn) prints no warning naming the file.
#
# Usage: bash scripts/hostile-corpus.sh [path/to/landcarbon]   (default target/release/landcarbon)
# CMDS="info dtm" bash scripts/hostile-corpus.sh   runs only some commands.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/landcarbon}
[ -x "$BIN" ] || { echo "no binary $BIN (cargo build --release)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/hostile-corpus.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
CMDS=${CMDS:-"info info-header ground dtm chm trees metrics normalize classify-veg tile"}
RSS_LIMIT_KB=$((500 * 1024))
python3 scripts/hostile_corpus.py testdata "$TMP/in" >"$TMP/cases.tsv" || exit 2

run_cmd() { # cmd out inputs...
    local c=$1 o=$2
    shift 2
    case $c in
    info) echo info "$@" ;;
    info-header) echo info --header-only "$@" ;;
    ground) echo ground -o "$o" "$@" ;;
    dtm) echo dtm -o "$o.tif" "$@" ;;
    chm) echo chm -o "$o.tif" "$@" ;;
    trees) echo trees -o "$o.csv" "$@" ;;
    metrics) echo metrics --grid 20 -o "$o.tif" "$@" ;;
    normalize) echo normalize -o "$o" "$@" ;;
    classify-veg) echo classify-veg -o "$o" "$@" ;;
    tile) echo tile --size 100 -o "$o" "$@" ;;
    esac
}

fail=0
n=0
printf '%-32s %-13s %4s %-7s %8s  %s\n' CASE COMMAND RC SIGNAL RSS_MB FIRST_ERROR
while IFS=$'\t' read -r name expect inputs; do
    read -ra paths <<<"$inputs"
    for c in $CMDS; do
        n=$((n + 1))
        o="$TMP/out/$name.$c"
        mkdir -p "$TMP/out"
        # shellcheck disable=SC2046
        args=$(run_cmd "$c" "$o" "${paths[@]}")
        # Paths hold no blanks (mktemp + case names), so word splitting is safe here.
        # shellcheck disable=SC2086
        timeout 120 /usr/bin/time -v -o "$TMP/time" "$BIN" --threads 2 $args >"$TMP/stdout" 2>"$TMP/stderr"
        rc=$?
        rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$TMP/time" 2>/dev/null)
        rss=${rss:-0}
        sig=$(grep -o 'Command terminated by signal [0-9]*' "$TMP/time" | grep -o '[0-9]*$')
        if [ -n "$sig" ]; then rc=$((128 + sig)); fi
        first=$(grep -m1 -iE 'error|panicked|failed|warn' "$TMP/stderr" || grep -m1 . "$TMP/stderr")
        first=$(echo "$first" | sed "s#$TMP/in/##g" | cut -c1-150)
        verdict=""
        grep -q panicked "$TMP/stderr" && verdict+=" PANIC"
        [ "$rc" -ge 124 ] && verdict+=" SIGNAL/TIMEOUT"
        [ "$rss" -gt "$RSS_LIMIT_KB" ] && verdict+=" RSS>500MB"
        [ "$expect" = fail ] && [ "$rc" -eq 0 ] && verdict+=" EXIT0-ON-INVALID"
        [ "$expect" = data ] && [ "$c" != info-header ] && [ "$rc" -eq 0 ] && verdict+=" EXIT0-ON-INVALID"
        # products: headers may be described (info), but no product may be made from them.
        [ "$expect" = products ] && [ "${c%%-*}" != info ] && [ "$rc" -eq 0 ] && verdict+=" EXIT0-ON-INVALID"
        if [ "$expect" = warn ] && ! grep -qiE "warn" "$TMP/stderr"; then
            verdict+=" NO-WARNING"
        fi
        if [ "$expect" != any ] && [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ]; then
            # A failure must name the input.
            base=$(basename "${paths[-1]}")
            grep -q -- "${base%.*}" "$TMP/stderr" || grep -q -- "$(basename "${paths[0]}")" "$TMP/stderr" ||
                verdict+=" NO-FILENAME"
        fi
        [ -n "$verdict" ] && fail=$((fail + 1))
        printf '%-32s %-13s %4s %-7s %8s  %s%s\n' "$name" "$c" "$rc" "${sig:--}" $((rss / 1024)) \
            "${first:-(no error line)}" "${verdict:+   <<<$verdict}"
        rm -rf "$o" "$o".*
    done
done <"$TMP/cases.tsv"
echo "$(wc -l <"$TMP/cases.tsv") cases, $n runs, $fail bad"
[ "$fail" -eq 0 ]
