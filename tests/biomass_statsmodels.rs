//! `landcarbon calibrate`'s OLS against statsmodels on a bundled table. The expected values
//! were computed once with statsmodels by `scripts/statsmodels_fixture.py` (which regenerates
//! both the table and the JSON); the live cross-check is `scripts/check-statsmodels.sh`.

use landcarbon::biomass::calibrate::{calibrate_table, CalibrateOptions};
use landcarbon::biomass::model::ModelForm;
use landcarbon::testdata::bundled;
use landcarbon::vector::Table;

#[test]
fn ols_equals_statsmodels_within_1e_8() {
    let table = Table::read(&bundled("biomass/ols_fixture.csv")).unwrap();
    let text = std::fs::read_to_string(bundled("biomass/ols_fixture_statsmodels.json")).unwrap();
    let want: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = want["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let form: ModelForm = case["form"].as_str().unwrap().parse().unwrap();
        let preds: Vec<String> = case["predictors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let opts = CalibrateOptions {
            response: "agb_t_ha".into(),
            form,
            predictors: preds.clone(),
            fixed: true,
            ..Default::default()
        };
        let mf = calibrate_table(&table, &opts, "fixture").unwrap();
        let m = &mf.models[0];
        assert_eq!(m.predictors, preds);
        let f = |v: &serde_json::Value| v.as_f64().unwrap();
        for (k, c) in m.coefficients.iter().enumerate() {
            let (b, se, p) = (
                f(&case["params"][k]),
                f(&case["bse"][k]),
                f(&case["pvalues"][k]),
            );
            assert!(
                (c.estimate - b).abs() < 1e-8,
                "{form:?} {}: {} vs {b}",
                c.term,
                c.estimate
            );
            assert!(
                (c.se - se).abs() < 1e-8,
                "{form:?} {} se: {} vs {se}",
                c.term,
                c.se
            );
            assert!(
                (c.p - p).abs() < 1e-8 * p.max(1e-12) + 1e-15,
                "{form:?} {} p: {} vs {p}",
                c.term,
                c.p
            );
            for (l, row) in m.covariance.iter().enumerate() {
                let w = f(&case["cov_params"][k][l]);
                assert!((row[k] - w).abs() < 1e-10, "cov[{k}][{l}]");
            }
        }
        assert!((m.fit_scale.r2 - f(&case["rsquared"])).abs() < 1e-10);
        assert!((m.fit_scale.adj_r2 - f(&case["rsquared_adj"])).abs() < 1e-10);
        assert!((m.see - f(&case["see"])).abs() < 1e-10);
        assert!((m.fit_scale.bic - f(&case["bic"])).abs() < 1e-8);
    }
}
