//! Plot rows that cannot be field measurements are refused with the plot id, in `account`'s
//! plot tables as in `calibrate` (one shared check, `vector::plot_rows`) (issue #15 pt 7).

use landcarbon::accounting::plots::PlotTable;
use landcarbon::params::Params;
use std::path::Path;

fn parse(text: &str) -> Result<PlotTable, String> {
    PlotTable::parse(text, Path::new("plots_2020.csv"), &Params::defaults())
        .map_err(|e| e.to_string())
}

const HEAD: &str = "plot_id,class,stratum,pool,value\n";

#[test]
fn negative_and_non_finite_values_are_refused_with_the_plot_id() {
    for bad in ["-50", "NaN", "inf", "-0.5"] {
        let t = format!("{HEAD}F1,forest,A,AGB,40.0\nF2,forest,A,AGB,{bad}\nF3,forest,A,AGB,38\n");
        let e = parse(&t).unwrap_err();
        assert!(
            e.contains("plots_2020.csv") && e.contains("line 3"),
            "{bad}: {e}"
        );
        // Non-finite text fails as "not a number"; finite negatives name the plot.
        assert!(
            e.contains("'F2'") || e.contains("not a number"),
            "{bad}: {e}"
        );
    }
    // Zero is a measurement (a plot without dead wood).
    let t = parse(&format!("{HEAD}F1,forest,A,DW,0\nF2,forest,A,DW,1.5\n")).unwrap();
    assert_eq!(t.rows[0].n, 2);
}

#[test]
fn duplicate_and_empty_plot_ids_are_refused() {
    let e = parse(&format!("{HEAD}F1,forest,A,AGB,40\nF1,forest,A,AGB,42\n")).unwrap_err();
    assert!(e.contains("'F1'") && e.contains("twice"), "{e}");
    // The same id under another class or stratum is a second plot, not another pool.
    let e = parse(&format!(
        "{HEAD}F1,forest,A,AGB,40\nF1,forest,A,BGB,9\nF1,grassland,,AGB,2\n"
    ))
    .unwrap_err();
    assert!(
        e.contains("'F1'") && e.contains("twice") && e.contains("line 2") && e.contains("line 4"),
        "{e}"
    );
    let e = parse(&format!("{HEAD},forest,A,AGB,40\n")).unwrap_err();
    assert!(e.contains("empty plot_id"), "{e}");
    // One plot's pools, and the same plot in another year's rows, are fine.
    let ok = format!("{HEAD}F1,forest,A,AGB,40\nF1,forest,A,BGB,9\n");
    assert_eq!(parse(&ok).unwrap().rows.len(), 2);
    let ok =
        "plot_id,class,stratum,pool,value,year\nF1,forest,A,AGB,40,2020\nF1,forest,A,AGB,44,2025\n";
    assert_eq!(parse(ok).unwrap().rows.len(), 2);
}

#[test]
fn summary_rows_with_a_negative_mean_are_refused() {
    let e = parse("class,stratum,pool,mean,sd,n\nforest,A,AGB,-50,3,10\n").unwrap_err();
    assert!(
        e.contains("plots_2020.csv, line 2") && e.contains("mean = -50"),
        "{e}"
    );
}
