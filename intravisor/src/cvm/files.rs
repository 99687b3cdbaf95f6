//! A cVM's files: the ones the deployment granted for reading, and the ones it creates
//! in its own output directory. Nothing outside those is ever opened: names are looked
//! up in the grants, or must be plain file names inside the output directory; both were
//! resolved when the deployment was validated (`config`), and no symlink is followed
//! when a file is opened: the output directory is opened (and made) one component at a
//! time from `/` without following one, once, and its files are created in it by name.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{mkdirat, openat, Mode, OFlags, CWD};

use abi::{Errno, OpenMode};

use crate::config::{is_plain_file_name, FileGrant};
use crate::handles::Handles;
use crate::hostcall::Files;

#[derive(Debug)]
enum OpenFile {
    /// A granted input: the file, and its grant's index.
    Reading(File, usize),
    /// An output, write only.
    Writing(File),
    /// An output opened for update: read and written.
    Updating(File),
}

impl OpenFile {
    fn file(&mut self) -> &mut File {
        match self {
            Self::Reading(file, _) | Self::Writing(file) | Self::Updating(file) => file,
        }
    }
}

/// The open files of one cVM.
#[derive(Debug)]
pub(super) struct FileTable {
    grants: Vec<FileGrant>,
    output: Option<PathBuf>,
    /// The output directory, once opened.
    output_directory: Option<OwnedFd>,
    open: Handles<OpenFile>,
}

impl FileTable {
    pub(super) fn new(grants: Vec<FileGrant>, output: Option<PathBuf>) -> Self {
        Self { grants, output, output_directory: None, open: Handles::default() }
    }

    /// At most `limit` files open at once (`isolation.open_files`).
    pub(super) fn limit_open(&mut self, limit: usize) {
        self.open = Handles::with_limit(limit);
    }

    /// Read-only descriptors of the granted files that are regular files, each with its
    /// grant's index, at most `most` of them; a grant that cannot be opened now is left
    /// out (opening it answers the error).
    pub(super) fn regular_grants(&self, most: usize) -> Vec<(usize, OwnedFd)> {
        let opened = self.grants.iter().enumerate().filter_map(|(index, grant)| {
            open_without_symlinks(&grant.path).ok().map(|file| (index, OwnedFd::from(file)))
        });
        opened.take(most).collect()
    }

    /// The grant's index of the input open as `handle`.
    pub(super) fn grant_read_by(&mut self, handle: u64) -> Option<usize> {
        match self.slot(handle) {
            Ok(OpenFile::Reading(_, index)) => Some(*index),
            _ => None,
        }
    }

    fn slot(&mut self, handle: u64) -> Result<&mut OpenFile, Errno> {
        self.open.get_mut(handle)
    }

    /// The output directory, opened (and made) the first time, for a file `name` in it:
    /// refused unless the cVM has one and `name` is a plain file name.
    fn output_directory(&mut self, name: &str) -> Result<&OwnedFd, Errno> {
        let path = self.output.as_ref().ok_or(Errno::Access)?;
        if !is_plain_file_name(name) {
            return Err(Errno::Access);
        }
        match &mut self.output_directory {
            Some(directory) => Ok(directory),
            empty => {
                let opened = directory_without_symlinks(path, true).map_err(|error| {
                    log::warn!("the output directory {} cannot be opened: {error}", path.display());
                    Errno::Io
                })?;
                Ok(empty.insert(opened))
            }
        }
    }
}

impl Files for FileTable {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<u64, Errno> {
        let file = match mode {
            OpenMode::Read => {
                let index = self.grants.iter().position(|grant| grant.name == name).ok_or(Errno::NoEntry)?;
                // The grant's path was resolved at validation: a symlink put in its
                // place since is not followed.
                let file = open_without_symlinks(&self.grants[index].path).map_err(|_| Errno::Io)?;
                OpenFile::Reading(file, index)
            }
            OpenMode::Write | OpenMode::Update | OpenMode::UpdateExisting => {
                let directory = self.output_directory(name)?;
                let access = match mode {
                    OpenMode::Update => OFlags::RDWR | OFlags::CREATE,
                    OpenMode::UpdateExisting => OFlags::RDWR,
                    _ => OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC,
                };
                // A symlink in the output directory is never followed (nor replaced).
                let flags = access | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let file = openat(directory, name, flags, Mode::from_raw_mode(0o644)).map_err(errno_of)?;
                match mode {
                    OpenMode::Write => OpenFile::Writing(File::from(file)),
                    _ => OpenFile::Updating(File::from(file)),
                }
            }
        };
        self.open.insert(file)
    }

    fn is_output(&mut self, handle: u64) -> bool {
        matches!(self.slot(handle), Ok(OpenFile::Writing(_) | OpenFile::Updating(_)))
    }

    fn read(&mut self, handle: u64, buffer: &mut [u8]) -> Result<usize, Errno> {
        match self.slot(handle)? {
            OpenFile::Reading(file, _) | OpenFile::Updating(file) => file.read(buffer).map_err(|_| Errno::Io),
            OpenFile::Writing(_) => Err(Errno::BadHandle),
        }
    }

    fn write(&mut self, handle: u64, bytes: &[u8]) -> Result<(), Errno> {
        match self.slot(handle)? {
            OpenFile::Writing(file) | OpenFile::Updating(file) => {
                file.write_all(bytes).map_err(|_| Errno::Io)
            }
            OpenFile::Reading(..) => Err(Errno::BadHandle),
        }
    }

    /// Moves a file's position: `whence` 0 from its start, 1 from the current position,
    /// 2 from its end.
    fn seek(&mut self, handle: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
        let target = match whence {
            0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Invalid)?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(Errno::Invalid),
        };
        self.slot(handle)?.file().seek(target).map_err(|_| Errno::Invalid)
    }

    /// The size of an open file.
    fn size(&mut self, handle: u64) -> Result<u64, Errno> {
        self.slot(handle)?.file().metadata().map(|metadata| metadata.len()).map_err(|_| Errno::Io)
    }

    fn close(&mut self, handle: u64) -> Result<(), Errno> {
        self.open.remove(handle).map(drop)
    }

    /// Cuts an output, never grows one: what an output holds was all written, and
    /// counted against the cVM's output limit.
    fn truncate(&mut self, handle: u64, length: u64) -> Result<(), Errno> {
        match self.slot(handle)? {
            OpenFile::Writing(file) | OpenFile::Updating(file) => {
                let size = file.metadata().map_err(|_| Errno::Io)?.len();
                if length > size {
                    return Err(Errno::Invalid);
                }
                file.set_len(length).map_err(|_| Errno::Io)
            }
            OpenFile::Reading(..) => Err(Errno::BadHandle),
        }
    }

    /// Deletes a file of the output directory by name; a symlink there is removed, never
    /// followed, and a directory is not removed.
    fn remove(&mut self, name: &str) -> Result<(), Errno> {
        let directory = self.output_directory(name)?;
        rustix::fs::unlinkat(directory, name, rustix::fs::AtFlags::empty()).map_err(errno_of)
    }
}

/// What the cVM is told of a failed open or removal in its output directory: that the
/// file is not there, or an I/O error (nothing more of the host's file system).
fn errno_of(error: rustix::io::Errno) -> Errno {
    if error == rustix::io::Errno::NOENT {
        Errno::NoEntry
    } else {
        Errno::Io
    }
}

/// Opens the regular file `path` (absolute) for reading, following no symlink anywhere
/// in it. Validation found a regular file there; anything put in its place since (a FIFO,
/// whose open would wait for a writer, holding the cVM's start or a serving thread) is
/// refused without waiting.
fn open_without_symlinks(path: &Path) -> std::io::Result<File> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other(format!("{} is not a file's path", path.display())));
    };
    let directory = directory_without_symlinks(parent, false)?;
    // O_NONBLOCK opens a FIFO at once; a regular file's reads ignore it.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let file = File::from(openat(&directory, name, flags, Mode::empty())?);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!("{} is no longer a regular file", path.display())));
    }
    Ok(file)
}

/// Opens the directory `path` (absolute), making each missing component if `create`,
/// one component at a time from `/`, following no symlink: a symlink put anywhere in
/// its path since the deployment was validated is refused (`ELOOP`), never followed.
fn directory_without_symlinks(path: &Path, create: bool) -> std::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut directory = openat(CWD, "/", flags, Mode::empty())?;
    for component in path.components() {
        match component {
            Component::RootDir => {}
            Component::Normal(name) => {
                if create {
                    match mkdirat(&directory, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
                directory = openat(&directory, name, flags, Mode::empty())?;
            }
            // Validation resolved the path: `.`, `..` or a prefix here is not one of its.
            _ => return Err(std::io::Error::other(format!("{} is not a resolved path", path.display()))),
        }
    }
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let directory = std::env::temp_dir().join(format!("orc-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory.canonicalize().unwrap()
    }

    #[test]
    fn outputs_are_made_and_written_beneath_their_directory() {
        let root = scratch("outputs");
        let mut table = FileTable::new(Vec::new(), Some(root.join("out/cvm")));
        let handle = table.open("result.txt", OpenMode::Write).unwrap();
        table.write(handle, b"done\n").unwrap();
        assert_eq!(std::fs::read_to_string(root.join("out/cvm/result.txt")).unwrap(), "done\n");
        assert_eq!(table.open("../escape.txt", OpenMode::Write), Err(Errno::Access));
    }

    /// A directory of the output's path swapped for a symlink after validation (by
    /// someone on the host: a cVM makes no symlinks) is not followed.
    #[test]
    fn a_symlink_swapped_into_an_outputs_path_is_not_followed() {
        let root = scratch("swapped-output");
        std::fs::create_dir_all(root.join("deployment/out")).unwrap();
        std::fs::create_dir_all(root.join("elsewhere/cvm")).unwrap();
        let mut table = FileTable::new(Vec::new(), Some(root.join("deployment/out/cvm")));
        std::fs::remove_dir(root.join("deployment/out")).unwrap();
        symlink(root.join("elsewhere"), root.join("deployment/out")).unwrap();
        assert_eq!(table.open("result.txt", OpenMode::Write), Err(Errno::Io));
        assert!(!root.join("elsewhere/cvm/result.txt").exists());
    }

    /// Likewise a directory of a granted file's path: the file it would reach is not read.
    #[test]
    fn a_symlink_swapped_into_a_grants_path_is_not_followed() {
        let root = scratch("swapped-grant");
        std::fs::create_dir_all(root.join("deployment/data")).unwrap();
        std::fs::write(root.join("deployment/data/input.txt"), "granted\n").unwrap();
        std::fs::create_dir_all(root.join("secrets")).unwrap();
        std::fs::write(root.join("secrets/input.txt"), "secret\n").unwrap();
        let grant = FileGrant { name: "input.txt".into(), path: root.join("deployment/data/input.txt") };
        let mut table = FileTable::new(vec![grant], None);
        let handle = table.open("input.txt", OpenMode::Read).unwrap();
        let mut buffer = [0u8; 16];
        assert_eq!(table.read(handle, &mut buffer), Ok(8));
        assert_eq!(&buffer[..8], b"granted\n");
        std::fs::rename(root.join("deployment/data"), root.join("deployment/moved")).unwrap();
        symlink(root.join("secrets"), root.join("deployment/data")).unwrap();
        assert_eq!(table.open("input.txt", OpenMode::Read), Err(Errno::Io));
    }

    /// A FIFO put in a granted file's place after validation is refused at once, when
    /// the cVM opens it and when its process is handed its grants: neither waits for a
    /// writer that may never come.
    #[test]
    fn a_fifo_swapped_into_a_grants_place_is_refused_without_waiting() {
        let root = scratch("fifo-grant");
        std::fs::write(root.join("plain.txt"), "plain\n").unwrap();
        let fifo = root.join("input.txt");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo {}", fifo.display());
        let grants = vec![
            FileGrant { name: "input.txt".into(), path: fifo },
            FileGrant { name: "plain.txt".into(), path: root.join("plain.txt") },
        ];
        let mut table = FileTable::new(grants, None);
        assert_eq!(table.open("input.txt", OpenMode::Read), Err(Errno::Io));
        let handed: Vec<usize> = table.regular_grants(16).into_iter().map(|(index, _)| index).collect();
        assert_eq!(handed, [1], "only the regular file is handed over");
        assert!(table.open("plain.txt", OpenMode::Read).is_ok());
    }

    #[test]
    fn outputs_opened_for_update_keep_their_bytes_and_are_read_back() {
        let root = scratch("update");
        let mut table = FileTable::new(Vec::new(), Some(root.join("out")));
        assert_eq!(table.open("db", OpenMode::UpdateExisting), Err(Errno::NoEntry));
        let handle = table.open("db", OpenMode::Update).unwrap();
        table.write(handle, b"page one").unwrap();
        table.close(handle).unwrap();
        let handle = table.open("db", OpenMode::UpdateExisting).unwrap();
        assert!(table.is_output(handle));
        let mut buffer = [0u8; 8];
        assert_eq!(table.read(handle, &mut buffer), Ok(8));
        assert_eq!(&buffer, b"page one");
        assert_eq!(table.seek(handle, 5, 0), Ok(5));
        table.write(handle, b"ONE").unwrap();
        assert_eq!(std::fs::read(root.join("out/db")).unwrap(), b"page ONE");
        // Cut, never grown.
        assert_eq!(table.truncate(handle, 9), Err(Errno::Invalid));
        table.truncate(handle, 4).unwrap();
        assert_eq!(std::fs::read(root.join("out/db")).unwrap(), b"page");
        // A write-only output is not read back; an input is not cut.
        let written = table.open("log", OpenMode::Write).unwrap();
        assert_eq!(table.read(written, &mut buffer), Err(Errno::BadHandle));
    }

    #[test]
    fn inputs_are_never_cut_nor_removed() {
        let root = scratch("inputs-kept");
        std::fs::write(root.join("input.txt"), "granted\n").unwrap();
        let grant = FileGrant { name: "input.txt".into(), path: root.join("input.txt") };
        let mut table = FileTable::new(vec![grant], Some(root.join("out")));
        let handle = table.open("input.txt", OpenMode::Read).unwrap();
        assert_eq!(table.truncate(handle, 0), Err(Errno::BadHandle));
        assert_eq!(table.write(handle, b"x"), Err(Errno::BadHandle));
        // Its name is looked up in the output directory, where there is no such file.
        assert_eq!(table.remove("input.txt"), Err(Errno::NoEntry));
        assert_eq!(std::fs::read_to_string(root.join("input.txt")).unwrap(), "granted\n");
    }

    #[test]
    fn removal_stays_in_the_output_directory_and_follows_no_symlink() {
        let root = scratch("remove");
        std::fs::write(root.join("precious"), "host file\n").unwrap();
        let mut table = FileTable::new(Vec::new(), Some(root.join("out")));
        let handle = table.open("journal", OpenMode::Update).unwrap();
        table.close(handle).unwrap();
        table.remove("journal").unwrap();
        assert!(!root.join("out/journal").exists());
        assert_eq!(table.remove("journal"), Err(Errno::NoEntry));
        for name in ["../precious", "/etc/passwd", "..", ".", "", "a/b"] {
            assert_eq!(table.remove(name), Err(Errno::Access), "{name}");
        }
        // A symlink someone on the host put there is removed itself; its target stays.
        symlink(root.join("precious"), root.join("out/link")).unwrap();
        table.remove("link").unwrap();
        assert!(std::fs::symlink_metadata(root.join("out/link")).is_err());
        assert_eq!(std::fs::read_to_string(root.join("precious")).unwrap(), "host file\n");
        // Nor is a directory removed, nor opened for update.
        std::fs::create_dir(root.join("out/directory")).unwrap();
        assert_eq!(table.remove("directory"), Err(Errno::Io));
        assert_eq!(table.open("directory", OpenMode::Update), Err(Errno::Io));
        assert!(root.join("out/directory").is_dir());
        // Without an output directory there is nothing to remove.
        let mut without = FileTable::new(Vec::new(), None);
        assert_eq!(without.remove("journal"), Err(Errno::Access));
        assert_eq!(without.open("journal", OpenMode::Update), Err(Errno::Access));
    }
}
