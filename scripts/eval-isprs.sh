#!/usr/bin/env bash
# Ground-classification accuracy on the ISPRS filter-test samples (Sithole & Vosselman 2004):
# runs the release binary with default parameters (or the extra flags given) on every sample
# and prints Type I, Type II, total error and Cohen's kappa per sample and their means.
#
# Usage: scripts/eval-isprs.sh [DATA_DIR] [-- extra flags for `landcarbon ground`]
#   DATA_DIR defaults to testdata/isprs (9 of the 15 samples are bundled; the shared set at
#   ../shared/testdata/real/isprs holds the same 9).
# Example: scripts/eval-isprs.sh testdata/isprs -- --method smrf
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=testdata/isprs
if [[ $# -gt 0 && "$1" != "--" ]]; then DATA=$1; shift; fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
EXTRA=("$@")
. scripts/lib.sh
BIN=$(landcarbon_bin)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf '%-8s %8s %8s %8s %8s %8s\n' sample points "type I%" "type II%" "total%" "kappa%"
sum1=0; sum2=0; sumt=0; sumk=0; n=0
for f in "$DATA"/samp*.laz; do
  s=$(basename "$f" .laz); s=${s%-utm}
  "$BIN" -q ground "$f" -o "$OUT/$s.laz" "${EXTRA[@]}"
  read -r np t1 t2 tt kk < <("$BIN" eval ground --reference "$f" --classified "$OUT/$s.laz" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["n_points"], *(100*d[k] for k in ("type1","type2","total","kappa")))')
  printf '%-8s %8d %8.2f %8.2f %8.2f %8.2f\n' "$s" "$np" "$t1" "$t2" "$tt" "$kk"
  sum1=$(python3 -c "print($sum1+$t1)"); sum2=$(python3 -c "print($sum2+$t2)")
  sumt=$(python3 -c "print($sumt+$tt)"); sumk=$(python3 -c "print($sumk+$kk)"); n=$((n+1))
done
python3 -c "n=$n; print('%-8s %8s %8.2f %8.2f %8.2f %8.2f' % ('mean', '', $sum1/n, $sum2/n, $sumt/n, $sumk/n))"
