//! A bare-metal cVM's files: the inputs its deployment granted, packed into the image
//! (and digest-checked at boot like objects), and the outputs it creates, written into
//! its output directory on the host through semihosting. Nothing else can be opened:
//! inputs are looked up by the names the grants give, outputs must be plain file names.

use alloc::format;
use alloc::vec::Vec;

use abi::{Errno, OpenMode};

use super::semihosting::HostFile;
use crate::handles::Handles;
use crate::hostcall::Files;

#[derive(Debug)]
enum OpenFile<'a> {
    Input { bytes: &'a [u8], position: u64 },
    Output { file: HostFile, position: u64 },
}

/// The open files of one cVM.
#[derive(Debug)]
pub struct FileTable<'a> {
    /// The granted inputs: name and bytes.
    inputs: Vec<(&'a str, &'a [u8])>,
    /// The host directory outputs go to.
    output: Option<&'a str>,
    open: Handles<OpenFile<'a>>,
}

/// Whether `name` is one file name, with no directory in it.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

impl<'a> FileTable<'a> {
    /// A table over the granted `inputs` and the `output` directory.
    pub fn new(inputs: Vec<(&'a str, &'a [u8])>, output: Option<&'a str>) -> Self {
        Self { inputs, output, open: Handles::default() }
    }

    fn slot(&mut self, handle: u64) -> Result<&mut OpenFile<'a>, Errno> {
        self.open.get_mut(handle)
    }

    /// Closes every file still open (the cVM ended).
    pub fn close_all(&mut self) {
        for file in self.open.drain() {
            if let OpenFile::Output { file, .. } = file {
                file.close();
            }
        }
    }
}

impl<'a> Files for FileTable<'a> {
    /// Opens a granted input, or creates an output.
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<u64, Errno> {
        let file = match mode {
            OpenMode::Read => {
                let (_, bytes) =
                    self.inputs.iter().find(|(input, _)| *input == name).ok_or(Errno::NoEntry)?;
                OpenFile::Input { bytes, position: 0 }
            }
            OpenMode::Write => {
                let directory = self.output.ok_or(Errno::Access)?;
                if !is_plain_file_name(name) {
                    return Err(Errno::Access);
                }
                let file = HostFile::create(&format!("{directory}/{name}")).map_err(|_| Errno::Io)?;
                OpenFile::Output { file, position: 0 }
            }
            // Semihosting files are written through, never read back: no update here.
            OpenMode::Update | OpenMode::UpdateExisting => return Err(Errno::Invalid),
        };
        self.open.insert(file)
    }

    /// Whether `handle` is an open output.
    fn is_output(&mut self, handle: u64) -> bool {
        matches!(self.slot(handle), Ok(OpenFile::Output { .. }))
    }

    /// Reads an input from its position, which moves past what was read.
    fn read(&mut self, handle: u64, buffer: &mut [u8]) -> Result<usize, Errno> {
        match self.slot(handle)? {
            OpenFile::Input { bytes, position } => {
                let start = (*position).min(bytes.len() as u64) as usize;
                let count = buffer.len().min(bytes.len() - start);
                buffer[..count].copy_from_slice(&bytes[start..start + count]);
                *position = (start + count) as u64;
                Ok(count)
            }
            OpenFile::Output { .. } => Err(Errno::BadHandle),
        }
    }

    /// Writes to an output at its position.
    fn write(&mut self, handle: u64, data: &[u8]) -> Result<(), Errno> {
        match self.slot(handle)? {
            OpenFile::Output { file, position } => {
                file.write(data).map_err(|_| Errno::Io)?;
                *position += data.len() as u64;
                Ok(())
            }
            OpenFile::Input { .. } => Err(Errno::BadHandle),
        }
    }

    /// Moves a file's position (`whence` 0: from the start, 1: from the position, 2:
    /// from the end).
    fn seek(&mut self, handle: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
        let (current, length) = match self.slot(handle)? {
            OpenFile::Input { bytes, position } => (*position, bytes.len() as u64),
            OpenFile::Output { file, position } => (*position, file.length().map_err(|_| Errno::Io)?),
        };
        let base = match whence {
            0 => 0,
            1 => current,
            2 => length,
            _ => return Err(Errno::Invalid),
        };
        let target = base.checked_add_signed(offset).ok_or(Errno::Invalid)?;
        match self.slot(handle)? {
            OpenFile::Input { position, .. } => *position = target,
            OpenFile::Output { file, position } => {
                file.seek(target).map_err(|_| Errno::Invalid)?;
                *position = target;
            }
        }
        Ok(target)
    }

    /// A file's size.
    fn size(&mut self, handle: u64) -> Result<u64, Errno> {
        match self.slot(handle)? {
            OpenFile::Input { bytes, .. } => Ok(bytes.len() as u64),
            OpenFile::Output { file, .. } => file.length().map_err(|_| Errno::Io),
        }
    }

    /// Closes a file.
    fn close(&mut self, handle: u64) -> Result<(), Errno> {
        if let OpenFile::Output { file, .. } = self.open.remove(handle)? {
            file.close();
        }
        Ok(())
    }
}
