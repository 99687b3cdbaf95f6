//! The object files of a deployment: read once, hashed, handed to the loader.
//!
//! Each file is read and hashed (SHA-256) once however many cVMs name it; a file that
//! cannot be read is remembered with its error, so only the cVMs that need it are
//! refused. This is where the ORC object store grows in the next issue.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::{Deployment, ObjectRef};
use crate::report::ObjectReport;

/// One object file.
#[derive(Debug)]
pub struct ObjectFile {
    /// Its file name, which `DT_NEEDED` entries may name.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
}

impl ObjectFile {
    /// Reads and hashes the file at `path`.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let sha256 = Sha256::digest(&bytes).into();
        Ok(Self { name, bytes, sha256 })
    }

    /// The digest in hexadecimal.
    pub fn digest_hex(&self) -> String {
        policy::digest_hex(&self.sha256)
    }
}

/// Every object file a deployment names.
#[derive(Debug, Default)]
pub struct ObjectFiles {
    files: HashMap<PathBuf, Result<Arc<ObjectFile>, String>>,
}

impl ObjectFiles {
    /// Reads every program and shared object the deployment names.
    pub fn load(deployment: &Deployment) -> Self {
        let mut files = HashMap::new();
        for cvm in &deployment.cvms {
            let paths = cvm.objects.iter().filter_map(|object| match object {
                ObjectRef::Path(path) => Some(path),
                ObjectRef::Digest(_) => None,
            });
            for path in core::iter::once(&cvm.runtime).chain(paths) {
                files.entry(path.clone()).or_insert_with(|| ObjectFile::read(path).map(Arc::new));
            }
        }
        Self { files }
    }

    /// The file at `path`, or why it could not be read.
    pub fn get(&self, path: &Path) -> Result<Arc<ObjectFile>, String> {
        match self.files.get(path) {
            Some(result) => result.clone(),
            None => Err(format!("`{}` is not an object of this deployment", path.display())),
        }
    }

    /// A file of the deployment with this digest.
    pub fn by_digest(&self, digest: &[u8; 32]) -> Option<Arc<ObjectFile>> {
        let mut matching: Vec<&Arc<ObjectFile>> =
            self.files.values().flatten().filter(|file| &file.sha256 == digest).collect();
        matching.sort_by(|left, right| left.name.cmp(&right.name));
        matching.first().map(|file| Arc::clone(file))
    }

    /// The distinct files (by digest), sorted by name, with how they were used.
    pub fn report(&self, usage: &ObjectUsage) -> Vec<ObjectReport> {
        let usage = usage.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut distinct = BTreeMap::new();
        for file in self.files.values().flatten() {
            let counts = usage.get(&file.sha256).copied().unwrap_or_default();
            distinct.entry((file.name.clone(), file.sha256)).or_insert_with(|| ObjectReport {
                name: file.name.clone(),
                sha256: file.digest_hex(),
                size: file.bytes.len() as u64,
                loads: counts.loads,
                users: counts.users,
                shared_bytes: counts.shared_bytes,
            });
        }
        distinct.into_values().collect()
    }
}

/// How often each object (by digest) was loaded and used.
#[derive(Debug, Default)]
pub struct ObjectUsage {
    counts: std::sync::Mutex<BTreeMap<[u8; 32], Counts>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    loads: u64,
    users: u64,
    shared_bytes: u64,
}

impl ObjectUsage {
    /// Records one cVM's use of the object with `digest`: `loaded` when this use loaded a
    /// copy of it, `shared_bytes` the size of that copy when it is shared.
    pub fn record(&self, digest: [u8; 32], loaded: bool, shared_bytes: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = counts.entry(digest).or_default();
        entry.users += 1;
        if loaded {
            entry.loads += 1;
            entry.shared_bytes += shared_bytes;
        }
    }
}
