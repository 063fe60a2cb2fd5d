//! The shape of the code, checked: no crate's modules import each other in
//! a cycle. A cycle means two modules can only be understood together; the
//! fix is to move what both need into a leaf module (as `ids` and `ending`
//! are for the server).
//!
//! A plain reading of the sources, not the compiler's: every `crate::a::b`
//! path (also inside `use crate::{…}` groups) is an edge from the file to
//! the deepest module file it names. Edges to a module's own ancestors are
//! not counted (a child may use its parent), and comments are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module path of every `.rs` file under `src`, and the file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let mut module: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                found.insert(module, path);
            }
        }
    }
    found
}

/// The source without `//` comments (doc comments name modules in links).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path a piece of code names after `crate::`.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first segment of each item.
            let mut depth = 0;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        paths.push(segments(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(ch);
            }
            paths.push(segments(&item));
        } else {
            paths.push(segments(rest));
        }
    }
    paths
}

/// `a::b::C` → `[a, b, C]`, stopping at the first character that cannot
/// continue a path.
fn segments(text: &str) -> Vec<String> {
    let path: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    path.split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The cycles among the modules of the crate whose sources are in `src`.
fn cycles(src: &Path) -> Vec<Vec<PathBuf>> {
    let modules = modules(src);
    let mut edges: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let targets = edges.entry(module).or_default();
        for path in named_paths(&code(file)) {
            let target = (1..=path.len())
                .rev()
                .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k));
            if let Some(target) = target {
                let is_ancestor = target.len() < module.len() && module.starts_with(target);
                if target != module && !is_ancestor {
                    targets.insert(target);
                }
            }
        }
    }
    // A module is on a cycle with every module that both reaches it and is
    // reached by it; group them (the graphs are small).
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(m) = todo.pop() {
            for next in &edges[m] {
                if seen.insert(*next) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reached: BTreeMap<_, _> = modules.keys().map(|m| (m, reach(m))).collect();
    let mut found: BTreeSet<Vec<PathBuf>> = BTreeSet::new();
    for (module, reaches) in &reached {
        if !reaches.contains(module) {
            continue;
        }
        let cycle: Vec<PathBuf> = reaches
            .iter()
            .filter(|other| reached[*other].contains(module))
            .map(|m| modules[*m].strip_prefix(src).unwrap().to_owned())
            .collect();
        found.insert(cycle);
    }
    found.into_iter().collect()
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_crate_has_an_import_cycle() {
    for name in ["backend", "protocol", "frontend", "bench"] {
        let cycles = cycles(&crate_src(name));
        assert!(cycles.is_empty(), "import cycles in {name}/src: {cycles:?}");
    }
}

#[test]
fn the_checker_sees_a_cycle_and_reads_use_groups() {
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, text: &str| {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod a; pub mod b; pub mod c; pub mod leaf;");
    write(
        "a.rs",
        "use crate::{leaf, b::Thing};\n// crate::c is only a comment\n",
    );
    write("b.rs", "pub struct Thing; fn f() { crate::c::g(); }");
    write("c.rs", "pub fn g() { let _ = crate::a::X; }");
    write("leaf.rs", "");
    write("a/child.rs", "use crate::a::Y; use crate::leaf;");
    let found = cycles(dir.path());
    assert_eq!(
        found,
        vec![vec![
            PathBuf::from("a.rs"),
            PathBuf::from("b.rs"),
            PathBuf::from("c.rs")
        ]]
    );
    write("c.rs", "pub fn g() {}");
    assert!(
        cycles(dir.path()).is_empty(),
        "a child using its parent is no cycle"
    );
}

#[test]
fn every_flag_is_documented_in_the_readme() {
    use clap::CommandFactory;
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let command = parley::Config::command();
    let missing: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|long| !["help", "version"].contains(long))
        .map(|long| format!("--{long}"))
        .filter(|flag| !readme.contains(&format!("`{flag}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "flags the README does not list: {missing:?}"
    );
}
