//! The hub's modules import each other without a circle (issue 19, item 6):
//! a newcomer can read them bottom-up — `caller` and `error` first, `server`
//! last. Each top-level module (the `services` folder counts as one) is a
//! node; an edge is a `crate::other` path in its code before its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The code of a file before its `#[cfg(test)]` part.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The modules `code` names as `crate::name`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        // `schakel_hub::crate::` does not occur; skip `$crate::` in macros.
        if code[..at].ends_with('$') {
            continue;
        }
        let name: String = code[at + 7..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |module: &str, path: &Path| {
        let mut deps = uses(&code(path));
        deps.remove(module);
        graph.entry(module.to_owned()).or_default().extend(deps);
    };
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let module = path.file_stem().unwrap().to_string_lossy().into_owned();
            if module != "lib" && module != "main" {
                add(&module, &path);
            }
        }
    }
    let mut stack = vec![src.join("services")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                add("services", &path);
            }
        }
    }
    graph
}

/// A circle through `from`, if there is one: the modules in order.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut path = vec![from.to_owned()];
    let mut seen = BTreeSet::new();
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let here = path.last().unwrap().clone();
        for next in graph.get(&here).into_iter().flatten() {
            if next == from {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, from, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(graph, from, &mut path, &mut seen).then_some(path)
}

#[test]
fn no_module_imports_itself_through_others() {
    let graph = graph();
    assert!(graph.len() > 20, "read the modules: {graph:?}");
    assert!(
        graph["caller"].iter().all(|m| m == "error"),
        "{:?}",
        graph["caller"]
    );
    assert!(graph["error"].is_empty(), "{:?}", graph["error"]);
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(circles.is_empty(), "module circles:\n{}", circles.join("\n"));
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.insert("a".into(), ["b".into()].into());
    graph.insert("b".into(), ["c".into()].into());
    graph.insert("c".into(), ["a".into()].into());
    graph.insert("d".into(), ["a".into()].into());
    assert_eq!(circle(&graph, "a").unwrap(), ["a", "b", "c", "a"]);
    assert!(circle(&graph, "d").is_none());
}
