#!/usr/bin/env python3
"""Independent re-implementation (numpy) of the landcarbon / lidR standard metric set, checked
against `landcarbon metrics --plots` on a height-normalized LAZ file.

Definitions follow lidR's stdmetrics_z / stdmetrics_i / stdmetrics_rn source (R quantile
type 7 = numpy 'linear'; findInterval bins; fast_table drops the top break), plus cover, mch
and Næsset deciles as documented in src/algo/metrics.rs. Noise (class 7, 18) and withheld
points are dropped first (landcarbon's default).

usage: check_metrics.py LAZ PLOTS_CSV LANDCARBON_CSV [--tol 1e-9]
"""
import argparse
import sys

import laspy
import numpy as np
import pandas as pd


def q7(z, p):
    return float(np.quantile(z, p, method="linear"))


def moments(v):
    n = len(v)
    m = v.mean()
    d = v - m
    s2 = (d**2).sum()
    sd = np.sqrt(s2 / (n - 1)) if n > 1 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        skew = ((d**3).sum() / n) / (s2 / n) ** 1.5
        kurt = n * (d**4).sum() / s2**2
    return m, sd, skew, kurt


def entropy(z, by=1.0):
    zmax = z.max()
    if zmax < 2 * by or z.min() < 0:
        return np.nan
    nb = int(np.ceil(zmax / by))
    k = np.floor(z / by).astype(int)
    k = k[k < nb]
    h = np.bincount(k, minlength=nb).astype(float)
    h = h / h.sum()
    p = h[h > 0]
    return -(p * np.log(p)).sum() / np.log(nb)


def zpcum(z, zmin=0.0):
    zmax = z.max()
    if zmax <= zmin:
        return [0.0] * 9
    by = (zmax - zmin) / 10
    breaks = np.minimum(zmin + np.arange(11) * by, zmax)
    zz = z[z > zmin]
    idx = np.searchsorted(breaks, zz, side="right") - 1  # largest k with breaks[k] <= z
    idx = idx[(idx >= 0) & (idx < 10)]
    c = np.bincount(idx, minlength=10).astype(float)
    if c.sum() == 0:
        return [np.nan] * 9
    return list(np.cumsum(c)[:9] / c.sum() * 100)


def metrics(z, i, rn, cls, hb=2.0):
    out = {}
    first = rn == 1
    out["cover"] = (z[first] > hb).sum() / first.sum() * 100 if first.any() else np.nan
    out["mch"] = z[first & (z > hb)].mean() if (first & (z > hb)).any() else np.nan
    n = len(z)
    out["n"] = n
    m, sd, sk, ku = moments(z)
    out.update(zmax=z.max(), zmean=m, zsd=sd, zcv=sd / m * 100, zskew=sk, zkurt=ku)
    out["zentropy"] = entropy(z)
    out["pzabovezmean"] = (z > m).sum() / n * 100
    out["pzabove2"] = (z > 2).sum() / n * 100
    for k in range(19):
        p = 0.05 + k * 0.05
        out[f"zq{round(p * 100)}"] = q7(z, p)
    for k, v in enumerate(zpcum(z)):
        out[f"zpcum{k + 1}"] = v
    above = np.sort(z[z > hb])
    if len(above) == 0:
        for k in range(10):
            out[f"d{k}"] = 0.0
    else:
        qq = q7(above, 0.95)
        for k in range(10):
            out[f"d{k}"] = (z > hb + k * (qq - hb) / 10).sum() / n * 100
    iv = i.astype(float)
    im, isd, isk, iku = moments(iv)
    itot = iv.sum()
    out.update(itot=itot, imax=iv.max(), imean=im, isd=isd, iskew=isk, ikurt=iku)
    out["ipground"] = iv[cls == 2].sum() / itot * 100
    for k in range(5):
        p = 0.1 + k * 0.2
        out[f"ipcumzq{round(p * 100)}"] = iv[z <= q7(z, p)].sum() / itot * 100
    for k in range(1, 6):
        out[f"p{k}th"] = (rn == k).sum() / n * 100
    out["pground"] = (cls == 2).sum() / n * 100
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("laz")
    ap.add_argument("plots")
    ap.add_argument("landcarbon_csv")
    ap.add_argument("--tol", type=float, default=1e-9)
    a = ap.parse_args()
    las = laspy.read(a.laz)
    x, y, z = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)
    cls = np.asarray(las.classification)
    keep = ~np.isin(cls, [7, 18]) & ~np.asarray(las.withheld, dtype=bool)
    plots = pd.read_csv(a.plots)
    got = pd.read_csv(a.landcarbon_csv, na_values=["NA"])
    worst = 0.0
    bad = []
    for _, p in plots.iterrows():
        sel = keep & ((x - p.x) ** 2 + (y - p.y) ** 2 <= p.radius_m**2)
        ref = metrics(
            z[sel],
            np.asarray(las.intensity)[sel],
            np.asarray(las.return_number)[sel],
            cls[sel],
        )
        row = got[got.plot_id == p.plot_id].iloc[0]
        for k, v in ref.items():
            g = row[k]
            if np.isnan(v) and np.isnan(g):
                continue
            d = abs(v - g) / max(1.0, abs(v))
            worst = max(worst, d)
            if not d <= a.tol:
                bad.append((p.plot_id, k, v, g))
    print(f"{len(plots)} plots x {len(ref)} metrics; worst relative difference {worst:.2e}")
    for b in bad[:20]:
        print("  MISMATCH", b)
    print("PASS" if not bad else "FAIL")
    sys.exit(0 if not bad else 1)


if __name__ == "__main__":
    main()
