//! `docs/config-reference.md` is what `examples/gen_config_ref.rs` generates from the config
//! types: regenerate it (`cargo run --release --example gen_config_ref`) after changing them.

#[allow(dead_code)]
#[path = "../examples/gen_config_ref.rs"]
mod gen;

use std::path::Path;

#[test]
fn config_reference_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let want = gen::render(root);
    let have = std::fs::read_to_string(root.join("docs/config-reference.md")).expect(
        "docs/config-reference.md is missing: run cargo run --release --example gen_config_ref",
    );
    assert!(
        have == want,
        "docs/config-reference.md is out of date: run cargo run --release --example gen_config_ref"
    );
}

#[test]
fn every_section_key_is_documented() {
    let doc = gen::render(Path::new(env!("CARGO_MANIFEST_DIR")));
    for key in ["threads", "buffer_m", "res_m", "hmin_m"] {
        assert!(doc.contains(&format!("| `{key}` |")), "{key} missing");
    }
}
