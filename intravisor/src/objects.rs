//! The object files of a deployment: read once, hashed, handed to the loader.
//!
//! Each file is read and hashed (SHA-256) once however many cVMs name it; a file that
//! cannot be read is remembered with its error, so only the cVMs that need it are
//! refused. Its bytes stay in memory only until the last cVM that names it is built.
//! Once every cVM of the deployment is, the start-up is over, and the intravisor's own
//! code pages leave its page tables too (`platform::drop_code_pages`): reading the
//! deployment, loading, checking and laying out objects ran once (0.8 MB at 8
//! transcoders); what runs on faults back in from the page cache.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::config::{CvmConfig, Deployment, ObjectRef};
use crate::report::ObjectReport;

/// One object file.
///
/// Its bytes are kept while cVMs that name it are still to be built
/// ([`ObjectFiles::load`] counts them, [`ObjectFiles::built`] counts them off), then
/// dropped: once relocated into the shared area or a region, the file's bytes are not
/// what cVMs run. Asked for later, they are read again and must have the same SHA-256.
#[derive(Debug)]
pub struct ObjectFile {
    /// Its file name, which `DT_NEEDED` entries may name.
    pub name: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
    bytes: Mutex<Option<Arc<Vec<u8>>>>,
    /// cVMs that name it and are still to be built.
    pending: AtomicUsize,
}

impl ObjectFile {
    /// Reads and hashes the file at `path`.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes = Self::read_bytes(path)?;
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let sha256 = Sha256::digest(bytes.as_slice()).into();
        Ok(Self {
            name,
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            sha256,
            bytes: Mutex::new(Some(bytes)),
            pending: AtomicUsize::new(0),
        })
    }

    fn read_bytes(path: &Path) -> Result<Arc<Vec<u8>>, String> {
        // One copy of the bytes: `Arc<[u8]>` from the `Vec` would copy them again.
        std::fs::read(path)
            .map(Arc::new)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))
    }

    /// Its bytes: kept, or read again (and checked against its SHA-256).
    pub fn bytes(&self) -> Result<Arc<Vec<u8>>, String> {
        let mut kept = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bytes) = &*kept {
            return Ok(Arc::clone(bytes));
        }
        let bytes = Self::read_bytes(&self.path)?;
        let sha256: [u8; 32] = Sha256::digest(bytes.as_slice()).into();
        if sha256 != self.sha256 {
            return Err(format!(
                "`{}` changed since the deployment was read: its SHA-256 is now {}, it was {}",
                self.path.display(),
                policy::digest_hex(&sha256),
                self.digest_hex()
            ));
        }
        if self.pending.load(Ordering::Acquire) > 0 {
            *kept = Some(Arc::clone(&bytes));
        }
        Ok(bytes)
    }

    /// The digest in hexadecimal.
    pub fn digest_hex(&self) -> String {
        policy::digest_hex(&self.sha256)
    }
}

/// Reads and hashes `paths` on as many threads as there are processors (at most one per
/// file): the files of a deployment are megabytes, and a run waits for them.
fn read_all(paths: &[&PathBuf]) -> HashMap<PathBuf, Result<Arc<ObjectFile>, String>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, paths.len().max(1));
    let next = AtomicUsize::new(0);
    let read_some = || {
        let mut read = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(path) = paths.get(index) else { return read };
            read.push(((*path).clone(), ObjectFile::read(path).map(Arc::new)));
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new().name("object-reader".into()).spawn_scoped(scope, read_some).ok()
            })
            .collect();
        let mut files: HashMap<_, _> = read_some().into_iter().collect();
        for helper in helpers {
            files.extend(helper.join().unwrap_or_default());
        }
        // A helper that failed took its files with it: they are read here.
        for path in paths {
            if !files.contains_key(*path) {
                files.insert((*path).clone(), ObjectFile::read(path).map(Arc::new));
            }
        }
        files
    })
}

/// Every object file a deployment names.
#[derive(Debug, Default)]
pub struct ObjectFiles {
    files: HashMap<PathBuf, Result<Arc<ObjectFile>, String>>,
    /// cVMs of the deployment still to be built.
    unbuilt: AtomicUsize,
}

impl ObjectFiles {
    /// Reads every program and shared object the deployment names, and counts the cVMs
    /// that name each.
    pub fn load(deployment: &Deployment) -> Self {
        let mut paths: Vec<&PathBuf> = Vec::new();
        let mut seen = HashSet::new();
        for cvm in &deployment.cvms {
            let named = cvm.objects.iter().filter_map(|object| match object {
                ObjectRef::Path(path) => Some(path),
                ObjectRef::Digest(_) => None,
            });
            paths.extend(core::iter::once(&cvm.runtime).chain(named).filter(|path| seen.insert(*path)));
        }
        let objects = Self { files: read_all(&paths), unbuilt: AtomicUsize::new(deployment.cvms.len()) };
        for cvm in &deployment.cvms {
            for file in objects.named_by(cvm) {
                file.pending.fetch_add(1, Ordering::AcqRel);
            }
        }
        objects
    }

    /// The files `cvm` names (by path or by digest) that could be read.
    fn named_by(&self, cvm: &CvmConfig) -> Vec<Arc<ObjectFile>> {
        let objects = cvm.objects.iter().map(|object| match object {
            ObjectRef::Path(path) => self.get(path).ok(),
            ObjectRef::Digest(digest) => self.by_digest(digest),
        });
        core::iter::once(self.get(&cvm.runtime).ok()).chain(objects).flatten().collect()
    }

    /// `cvm` is built (or refused): the files it names are kept for one cVM fewer, and
    /// dropped from memory when no cVM still to be built names them; after the last
    /// cVM, the intravisor's code pages are unmapped.
    pub fn built(&self, cvm: &CvmConfig) {
        for file in self.named_by(cvm) {
            let counted = file
                .pending
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| pending.checked_sub(1));
            if counted == Ok(1) {
                *file.bytes.lock().unwrap_or_else(PoisonError::into_inner) = None;
            }
        }
        let unbuilt =
            self.unbuilt.fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| count.checked_sub(1));
        if unbuilt == Ok(1) {
            let dropped = crate::platform::drop_code_pages();
            log::debug!("every cVM is built: {dropped} bytes of the intravisor's code unmapped");
        }
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
                size: file.size,
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

#[cfg(test)]
mod tests {
    use super::ObjectFiles;
    use crate::config;

    #[test]
    fn bytes_are_dropped_once_every_cvm_is_built_and_read_again_only_unchanged() {
        let directory = std::env::temp_dir().join(format!("orc-objects-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("program"), b"program bytes").unwrap();
        std::fs::write(directory.join("libshared.so"), b"shared bytes").unwrap();
        let text = "cVMs:\n  - {name: one, runtime: program, objects: [libshared.so], isolation: {size: 4M}}\n  - {name: two, runtime: program, objects: [libshared.so], isolation: {size: 4M}}\n";
        let deployment = config::parse(text, &directory.join("deploy.yaml")).unwrap();
        let objects = ObjectFiles::load(&deployment);
        let shared = objects.get(&directory.join("libshared.so")).unwrap();
        objects.built(&deployment.cvms[0]);
        assert!(shared.bytes.lock().unwrap().is_some(), "kept while cVM `two` is to be built");
        objects.built(&deployment.cvms[1]);
        assert!(shared.bytes.lock().unwrap().is_none(), "dropped once both are built");
        // Counting off more than were counted changes nothing.
        objects.built(&deployment.cvms[1]);
        assert_eq!(&*shared.bytes().unwrap(), b"shared bytes");
        assert!(shared.bytes.lock().unwrap().is_none(), "read again, not kept");
        std::fs::write(directory.join("libshared.so"), b"other bytes!").unwrap();
        let error = shared.bytes().unwrap_err();
        assert!(error.contains("libshared.so` changed since the deployment was read"), "{error}");
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
