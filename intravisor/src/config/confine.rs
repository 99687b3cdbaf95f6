//! What a deployment may hand its cVMs: every path a cVM reads through (`files:`) or
//! writes into (`output:`, and `control:`, the directory revocations are read from) is
//! resolved once, here, with symlinks followed, and must lie under the deployment's
//! directory or under a root the operator allows (`--allow-root`). Programs, objects
//! and policies are read by the intravisor, never handed to a cVM, and stay wherever
//! the operator points.
//!
//! A directory that does not exist yet resolves through its deepest existing ancestor,
//! then the rest of its components (`..` in them is the lexical parent: nothing there is
//! a symlink).

use std::path::{Component, Path, PathBuf};

/// The directories a deployment's cVM paths must lie under, resolved.
#[derive(Debug, Clone)]
pub struct Roots {
    roots: Vec<PathBuf>,
}

impl Roots {
    /// The deployment's own directory and the operator's `allowed` roots, each resolved;
    /// an allowed root that does not resolve is an error naming it.
    pub fn new(deployment_directory: &Path, allowed: &[PathBuf]) -> Result<Self, String> {
        let mut roots = Vec::with_capacity(1 + allowed.len());
        let own =
            if deployment_directory.as_os_str().is_empty() { Path::new(".") } else { deployment_directory };
        roots.push(
            own.canonicalize()
                .map_err(|error| format!("the deployment's directory `{}`: {error}", own.display()))?,
        );
        for root in allowed {
            roots.push(
                root.canonicalize().map_err(|error| {
                    format!("allowed root `{}` does not resolve: {error}", root.display())
                })?,
            );
        }
        Ok(Self { roots })
    }

    /// The resolved form of the existing file `path`, if it lies under a root.
    pub fn file(&self, path: &Path) -> Result<PathBuf, String> {
        let resolved =
            path.canonicalize().map_err(|error| format!("`{}` does not resolve: {error}", path.display()))?;
        self.inside(path, resolved)
    }

    /// The resolved form of the directory `path` (which may not exist yet), if it lies
    /// under a root.
    pub fn directory(&self, path: &Path) -> Result<PathBuf, String> {
        let mut existing = path;
        let mut rest = Vec::new();
        while !existing.exists() {
            let (Some(parent), Some(name)) = (existing.parent(), existing.components().next_back()) else {
                break;
            };
            rest.push(name);
            existing = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        }
        let mut resolved = existing
            .canonicalize()
            .map_err(|error| format!("`{}` does not resolve: {error}", existing.display()))?;
        if !rest.is_empty() && !resolved.is_dir() {
            return Err(format!(
                "`{}` cannot be made: `{}` is not a directory",
                path.display(),
                resolved.display()
            ));
        }
        // What is resolved has no symlink and what does not exist cannot be one: `..`
        // is its lexical parent.
        for component in rest.into_iter().rev() {
            match component {
                Component::Normal(name) => resolved.push(name),
                Component::ParentDir => {
                    resolved.pop();
                }
                _ => {}
            }
        }
        if resolved.exists() && !resolved.is_dir() {
            return Err(format!(
                "`{}` resolves to `{}`, which is not a directory",
                path.display(),
                resolved.display()
            ));
        }
        self.inside(path, resolved)
    }

    fn inside(&self, path: &Path, resolved: PathBuf) -> Result<PathBuf, String> {
        if self.roots.iter().any(|root| resolved.starts_with(root)) {
            return Ok(resolved);
        }
        let roots: Vec<String> = self.roots.iter().map(|root| format!("`{}`", root.display())).collect();
        Err(format!(
            "`{}` resolves to `{}`, outside the deployment's directory and the allowed roots ({}); \
             move it there, or allow its directory with --allow-root",
            path.display(),
            resolved.display(),
            roots.join(", ")
        ))
    }
}

/// Whether `inner` is `outer` or lies under it (both resolved).
pub fn nested(inner: &Path, outer: &Path) -> bool {
    inner.starts_with(outer)
}
