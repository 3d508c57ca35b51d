#!/usr/bin/env python3
"""Regenerates the statsmodels fixture used by the Rust test `biomass_statsmodels`:

  testdata/biomass/ols_fixture.csv                 40 synthetic plots (seeded, numpy PCG64)
  testdata/biomass/ols_fixture_statsmodels.json    statsmodels OLS results on that table

Run from the repository root: python3 scripts/statsmodels_fixture.py
(needs numpy, pandas, statsmodels). The Rust test reads both files; nothing is hard-coded.
"""
import json

import numpy as np
import pandas as pd
import statsmodels.api as sm

rng = np.random.Generator(np.random.PCG64(20240601))
n = 40
zmean = rng.uniform(4.0, 25.0, n)
cover = np.clip(rng.uniform(30.0, 98.0, n) + 0.5 * (zmean - 14.0), 5.0, 100.0)
zq95 = zmean * rng.uniform(1.3, 1.7, n)
agb = 2.5 * zmean**1.35 * (cover / 100.0) ** 0.6 * np.exp(rng.normal(0.0, 0.2, n))
df = pd.DataFrame(
    {
        "plot_id": [f"P{i:02d}" for i in range(n)],
        "zmean": zmean.round(4),
        "cover": cover.round(4),
        "zq95": zq95.round(4),
        "agb_t_ha": agb.round(4),
    }
)
df.to_csv("testdata/biomass/ols_fixture.csv", index=False)
# Re-read so the fit uses exactly the rounded values the Rust test reads.
df = pd.read_csv("testdata/biomass/ols_fixture.csv")

cases = []
for form, preds in [("loglog", ["zmean", "cover"]), ("linear", ["zq95", "cover"])]:
    y = df["agb_t_ha"].to_numpy(float)
    X = df[preds].to_numpy(float)
    if form == "loglog":
        y, X = np.log(y), np.log(X)
    fit = sm.OLS(y, sm.add_constant(X)).fit()
    cases.append(
        {
            "form": form,
            "predictors": preds,
            "params": fit.params.tolist(),
            "bse": fit.bse.tolist(),
            "pvalues": fit.pvalues.tolist(),
            "rsquared": fit.rsquared,
            "rsquared_adj": fit.rsquared_adj,
            "see": float(np.sqrt(fit.scale)),
            "bic": fit.bic,
            "cov_params": fit.cov_params().tolist(),
        }
    )
json.dump(
    {"statsmodels": sm.__version__, "table": "testdata/biomass/ols_fixture.csv", "cases": cases},
    open("testdata/biomass/ols_fixture_statsmodels.json", "w"),
    indent=1,
)
print("wrote testdata/biomass/ols_fixture.csv and ols_fixture_statsmodels.json")
