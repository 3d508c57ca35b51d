#!/usr/bin/env python3
"""Cross-check `landcarbon calibrate` against statsmodels OLS on the same table.

For each case the model JSON written by landcarbon is read, the same predictors are fitted
with statsmodels OLS (on logs for the loglog form), and coefficients, their standard errors,
R², adjusted R², SEE and the coefficient covariance must agree within --tol (absolute,
default 1e-6). Exits 1 on any mismatch.

usage: check_statsmodels.py MODEL.json TABLE.csv [--tol 1e-6]
"""
import argparse
import json
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("table")
    ap.add_argument("--tol", type=float, default=1e-6)
    a = ap.parse_args()
    mf = json.load(open(a.model))
    df = pd.read_csv(a.table, sep=None, engine="python", na_values=["NA", "-9999"])
    ok = True
    for m in mf["models"]:
        resp = m["response"]
        preds = m["predictors"]
        d = df
        if mf.get("strata_column"):
            d = d[d[mf["strata_column"]].astype(str) == m["stratum"]]
        d = d[[resp] + preds].dropna()
        if m["form"] == "loglog":
            d = d[(d[[resp] + preds] > 0).all(axis=1)]
            y = np.log(d[resp].to_numpy(float))
            X = np.log(d[preds].to_numpy(float))
        elif m["form"] == "linear":
            y = d[resp].to_numpy(float)
            X = d[preds].to_numpy(float)
        else:
            print(f"skip form {m['form']} (statsmodels OLS compares loglog and linear)")
            continue
        fit = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
        got_b = np.array([c["estimate"] for c in m["coefficients"]])
        got_se = np.array([c["se"] for c in m["coefficients"]])
        got_cov = np.array(m["covariance"])
        checks = [
            ("n", float(len(y)), float(m["n"])),
            ("R2", fit.rsquared, m["fit_scale"]["r2"]),
            ("adjR2", fit.rsquared_adj, m["fit_scale"]["adj_r2"]),
            ("SEE", np.sqrt(fit.scale), m["see"]),
            ("BIC", fit.bic, m["fit_scale"]["bic"]),
            ("AIC", fit.aic, m["fit_scale"]["aic"]),
        ]
        for k in range(len(got_b)):
            term = m["coefficients"][k]["term"]
            checks.append((f"coef {term}", fit.params[k], got_b[k]))
            checks.append((f"se {term}", fit.bse[k], got_se[k]))
            checks.append((f"p {term}", fit.pvalues[k], m["coefficients"][k]["p"]))
        cov_diff = float(np.max(np.abs(fit.cov_params() - got_cov)))
        checks.append(("max |cov diff|", 0.0, cov_diff))
        label = f"{resp} ~ {' + '.join(preds)} [{m['form']}]" + (
            f" stratum {m['stratum']}" if m.get("stratum") else ""
        )
        print(label)
        for name, want, got in checks:
            d_abs = abs(want - got)
            # AIC/BIC are large numbers: compare relatively as well.
            tol = a.tol * max(1.0, abs(want)) if name in ("AIC", "BIC") else a.tol
            flag = "ok" if d_abs <= tol else "MISMATCH"
            if flag != "ok":
                ok = False
            print(f"  {name:<36} statsmodels {want: .10g}  landcarbon {got: .10g}  |diff| {d_abs:.2e}  {flag}")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
