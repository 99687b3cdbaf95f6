//! A cVM's files: the ones the deployment granted for reading, and the ones it creates
//! in its own output directory. Nothing outside those is ever opened: names are looked
//! up in the grants, or must be plain file names inside the output directory; both were
//! resolved when the deployment was validated (`config`), and no symlink is followed
//! when a file is opened.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use abi::{Errno, OpenMode};

use crate::config::{is_plain_file_name, FileGrant};
use crate::handles::Handles;
use crate::hostcall::Files;

#[derive(Debug)]
enum OpenFile {
    Reading(File),
    Writing(File),
}

/// The open files of one cVM.
#[derive(Debug)]
pub(super) struct FileTable {
    grants: Vec<FileGrant>,
    output: Option<PathBuf>,
    open: Handles<OpenFile>,
}

impl FileTable {
    pub(super) fn new(grants: Vec<FileGrant>, output: Option<PathBuf>) -> Self {
        Self { grants, output, open: Handles::default() }
    }

    /// At most `limit` files open at once (`isolation.open_files`).
    pub(super) fn limit_open(&mut self, limit: usize) {
        self.open = Handles::with_limit(limit);
    }

    fn slot(&mut self, handle: u64) -> Result<&mut OpenFile, Errno> {
        self.open.get_mut(handle)
    }
}

impl Files for FileTable {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<u64, Errno> {
        let file = match mode {
            OpenMode::Read => {
                let grant = self.grants.iter().find(|grant| grant.name == name).ok_or(Errno::NoEntry)?;
                // The grant's path was resolved at validation: a symlink put in its
                // place since is not followed.
                let file = File::options().read(true).custom_flags(libc::O_NOFOLLOW).open(&grant.path);
                OpenFile::Reading(file.map_err(|_| Errno::Io)?)
            }
            OpenMode::Write => {
                let directory = self.output.as_ref().ok_or(Errno::Access)?;
                if !is_plain_file_name(name) {
                    return Err(Errno::Access);
                }
                std::fs::create_dir_all(directory).map_err(|_| Errno::Io)?;
                // A symlink in the output directory is never followed (nor replaced).
                let file = File::options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(directory.join(name));
                OpenFile::Writing(file.map_err(|_| Errno::Io)?)
            }
        };
        self.open.insert(file)
    }

    fn is_output(&mut self, handle: u64) -> bool {
        matches!(self.slot(handle), Ok(OpenFile::Writing(_)))
    }

    fn read(&mut self, handle: u64, buffer: &mut [u8]) -> Result<usize, Errno> {
        match self.slot(handle)? {
            OpenFile::Reading(file) => file.read(buffer).map_err(|_| Errno::Io),
            _ => Err(Errno::BadHandle),
        }
    }

    fn write(&mut self, handle: u64, bytes: &[u8]) -> Result<(), Errno> {
        match self.slot(handle)? {
            OpenFile::Writing(file) => file.write_all(bytes).map_err(|_| Errno::Io),
            _ => Err(Errno::BadHandle),
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
        match self.slot(handle)? {
            OpenFile::Reading(file) | OpenFile::Writing(file) => {
                file.seek(target).map_err(|_| Errno::Invalid)
            }
        }
    }

    /// The size of an open file.
    fn size(&mut self, handle: u64) -> Result<u64, Errno> {
        match self.slot(handle)? {
            OpenFile::Reading(file) | OpenFile::Writing(file) => {
                file.metadata().map(|metadata| metadata.len()).map_err(|_| Errno::Io)
            }
        }
    }

    fn close(&mut self, handle: u64) -> Result<(), Errno> {
        self.open.remove(handle).map(drop)
    }
}
