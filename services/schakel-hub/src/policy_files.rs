//! Loading the policy (`policy/*.toml`) at start-up. An invalid policy stops
//! the hub with every problem's file, line, column and reason: schakel never
//! runs on a policy it has not fully validated (issue 3, DESIGN.md §5).

use std::path::Path;

use schakel_policy::Policy;

/// The policy shipped with schakel (the repository's `policy/` directory).
pub const BUILTIN: [(&str, &str); 4] = [
    ("catalogue.toml", include_str!("../../../policy/catalogue.toml")),
    ("forbidden.toml", include_str!("../../../policy/forbidden.toml")),
    ("purposes.toml", include_str!("../../../policy/purposes.toml")),
    (
        "region-voorbeeld.toml",
        include_str!("../../../policy/region-voorbeeld.toml"),
    ),
];

/// Why the policy could not be used; the text lists every problem.
#[derive(Debug, thiserror::Error)]
#[error("policy: {0}")]
pub struct PolicyLoadError(pub String);

/// The built-in policy.
pub fn builtin() -> Result<Policy, PolicyLoadError> {
    schakel_policy::load(&BUILTIN).map_err(|e| PolicyLoadError(e.to_string()))
}

/// Loads every `*.toml` file of `dir` as one policy.
pub fn load_dir(dir: &Path) -> Result<Policy, PolicyLoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PolicyLoadError(format!("{}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| PolicyLoadError(format!("{}: {e}", dir.display())))?
            .path();
        if path.extension().is_some_and(|x| x == "toml") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| PolicyLoadError(format!("{}: {e}", path.display())))?;
            files.push((name, text));
        }
    }
    if files.is_empty() {
        return Err(PolicyLoadError(format!(
            "{}: no *.toml policy files",
            dir.display()
        )));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    schakel_policy::load(&refs).map_err(|e| PolicyLoadError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_is_valid() {
        let p = builtin().unwrap();
        assert_eq!(p.version().len(), 64);
    }

    #[test]
    fn the_repository_policy_dir_equals_the_builtin() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy");
        assert_eq!(load_dir(&dir).unwrap().version(), builtin().unwrap().version());
    }

    #[test]
    fn an_invalid_policy_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in BUILTIN {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let broken = BUILTIN[2]
            .1
            .replacen("[[purpose]]", "[[purpose]]\nsurprise = 1", 1);
        std::fs::write(dir.path().join("purposes.toml"), broken).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("purposes.toml:"), "{e}");
        assert!(e.contains("surprise"), "{e}");
    }
}
