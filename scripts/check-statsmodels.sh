#!/usr/bin/env bash
# Cross-checks `landcarbon calibrate` against Python statsmodels OLS: coefficients, standard
# errors, p values, R², adjusted R², SEE, AIC/BIC and the coefficient covariance must agree
# within 1e-6.
#
# Cases: the bundled synthetic fixture (fixed predictors, loglog and linear) and, when the shared
# real data is present, the 96 Quatre Montagnes plots (lidaRtRee) with the predictors that
# landcarbon's best-subset selection picks (loglog and linear) and a per-stratum model.
#
# usage: scripts/check-statsmodels.sh            (from the repository root)
# needs: python3 with statsmodels and pandas (pip install statsmodels pandas)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(private_landcarbon_bin "$TMP")
python3 -c "import statsmodels, pandas" 2>/dev/null || {
  echo "needs python3 with statsmodels and pandas: pip install statsmodels pandas" >&2; exit 2; }
status=0
check() { # name table args...
  local name=$1 table=$2; shift 2
  echo "== $name"
  "$BIN" -q calibrate --plots "$table" --no-figures -o "$TMP/$name.json" "$@"
  python3 scripts/check_statsmodels.py "$TMP/$name.json" "$table" --tol 1e-6 || status=1
}
FIX=testdata/biomass/ols_fixture.csv
check fixture_loglog "$FIX" --response agb_t_ha --predictors zmean,cover --fixed --model loglog
check fixture_linear "$FIX" --response agb_t_ha --predictors zq95,cover --fixed --model linear
QM=${LANDCARBON_SHARED:-../shared/testdata/real}/lidaRtRee_quatre_montagnes_plots.csv
if [[ -f $QM ]]; then
  check qm_G_loglog "$QM" --response G_m2_ha --predictors zmax..slope_gr --model loglog
  check qm_G_linear "$QM" --response G_m2_ha --predictors zmax..slope_gr --model linear
  check qm_G_strata "$QM" --response G_m2_ha --predictors zmax..zpcum9 --strata stratum --max-predictors 2
else
  echo "SKIP Quatre Montagnes cases: $QM not found"
fi
[[ $status == 0 ]] && echo "ALL PASS" || echo "SOME FAILED"
exit $status
