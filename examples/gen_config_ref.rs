//! Writes `docs/config-reference.md`: every key of a pipeline TOML file with its section, type,
//! default and meaning. The keys and defaults come from `Config::default()` serialized to TOML,
//! the types and meanings from the `///` doc comments of the config structs in `src/`, so the
//! reference follows the code. `tests/config_reference.rs` checks that the committed file is
//! up to date.
//!
//! ```sh
//! cargo run --release --example gen_config_ref            # rewrite docs/config-reference.md
//! ```

use std::collections::BTreeMap;
use std::path::Path;

/// A field of a config struct: Rust type and doc comment.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: String,
    pub doc: String,
}

/// Struct name → fields, parsed from every `.rs` file under `src`.
pub fn parse_structs(src: &Path) -> BTreeMap<String, Vec<Field>> {
    let mut out = BTreeMap::new();
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let mut cur: Option<(String, Vec<Field>)> = None;
        let mut doc: Vec<String> = Vec::new();
        for line in text.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("pub struct ") {
                if t.ends_with('{') {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    cur = Some((name, Vec::new()));
                }
                doc.clear();
                continue;
            }
            if let Some((name, fields)) = &mut cur {
                if line.starts_with('}') {
                    out.entry(name.clone())
                        .or_insert_with(|| std::mem::take(fields));
                    cur = None;
                    doc.clear();
                    continue;
                }
                if let Some(d) = t.strip_prefix("///") {
                    doc.push(d.trim().to_string());
                } else if t.starts_with("#[") {
                    if t.contains("serde(skip") {
                        doc.push("\u{0}skip".into());
                    }
                } else if let Some(rest) = t.strip_prefix("pub ") {
                    if let Some((n, ty)) = rest.split_once(':') {
                        if !doc.iter().any(|d| d == "\u{0}skip") {
                            fields.push(Field {
                                name: n.trim().to_string(),
                                ty: ty.trim().trim_end_matches(',').to_string(),
                                doc: doc.join(" ").trim().to_string(),
                            });
                        }
                    }
                    doc.clear();
                } else if !t.is_empty() {
                    doc.clear();
                }
            } else if !t.starts_with("///") && !t.starts_with("#[") {
                doc.clear();
            }
        }
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The struct a field type names (`crate::algo::canopy::ChmParams` → `ChmParams`), if known.
fn struct_of<'a>(ty: &str, structs: &'a BTreeMap<String, Vec<Field>>) -> Option<&'a [Field]> {
    let inner = ty
        .trim_start_matches("Option<")
        .trim_end_matches('>')
        .rsplit("::")
        .next()
        .unwrap_or("");
    structs.get(inner).map(|v| v.as_slice())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) if t.is_empty() => "{}".into(),
        _ => v.to_string(),
    }
}

fn section(
    name: &str,
    doc: &str,
    value: &toml::map::Map<String, toml::Value>,
    fields: Option<&[Field]>,
    structs: &BTreeMap<String, Vec<Field>>,
    out: &mut String,
) {
    let mut rows = Vec::new();
    let mut subs = Vec::new();
    let mut keys: Vec<String> = value.keys().cloned().collect();
    if let Some(fs) = fields {
        // Unset (None) fields are absent from the serialized defaults: list them too.
        for f in fs {
            if !keys.contains(&f.name) {
                keys.push(f.name.clone());
            }
        }
    }
    for k in keys {
        let f = fields.and_then(|fs| fs.iter().find(|f| f.name == k));
        let ty = f.map(|f| f.ty.clone()).unwrap_or_default();
        let d = f.map(|f| f.doc.clone()).unwrap_or_default();
        let sub_fields = struct_of(&ty, structs);
        match value.get(&k) {
            Some(toml::Value::Table(t)) if sub_fields.is_some() || !t.is_empty() => {
                subs.push((k.clone(), d, t.clone(), sub_fields))
            }
            Some(v) => rows.push(format!(
                "| `{k}` | `{}` | `{}` | {} |",
                cell(&ty),
                cell(&inline(v)),
                cell(&d)
            )),
            None => rows.push(format!(
                "| `{k}` | `{}` | (unset) | {} |",
                cell(&ty),
                cell(&d)
            )),
        }
    }
    if !rows.is_empty() || name.is_empty() {
        let title = if name.is_empty() {
            "Top level".to_string()
        } else {
            format!("`[{name}]`")
        };
        out.push_str(&format!("## {title}\n\n"));
        if !doc.is_empty() {
            out.push_str(&format!("{doc}\n\n"));
        }
        out.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
        out.push('\n');
    }
    for (k, d, t, sf) in subs {
        let n = if name.is_empty() {
            k
        } else {
            format!("{name}.{k}")
        };
        section(&n, &d, &t, sf, structs, out);
    }
}

/// The reference document, from the sources under `root/src`.
pub fn render(root: &Path) -> String {
    let structs = parse_structs(&root.join("src"));
    let value = toml::Value::try_from(landcarbon::config::Config::default()).expect("config");
    let toml::Value::Table(t) = value else {
        panic!("config is not a table")
    };
    let mut out = String::from(
        "# Configuration reference\n\n\
         Every key of a pipeline / configuration TOML file (`landcarbon run pipeline.toml`, \
         `--config FILE` for the other commands), with its default. Command-line flags \
         override the file. Unknown keys are errors. `landcarbon run pipeline.toml \
         --print-config` prints the effective configuration of a file with these defaults \
         filled in.\n\n\
         Generated by `cargo run --release --example gen_config_ref` from the config types \
         (`src/config.rs` and the structs it names); `tests/config_reference.rs` fails when \
         this file is out of date. (unset) = no default (optional).\n\n\
         Carbon parameters (carbon fractions, root-shoot ratios, species factors, class \
         defaults, allometry) are a separate file: see `src/params_default.toml`, overridden \
         by `[carbon] params` / `--params`.\n\n",
    );
    section(
        "",
        "",
        &t,
        structs.get("Config").map(|v| v.as_slice()),
        &structs,
        &mut out,
    );
    out
}

#[allow(dead_code)]
fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = render(root);
    let p = root.join("docs/config-reference.md");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, doc).unwrap();
    eprintln!("wrote {}", p.display());
}
