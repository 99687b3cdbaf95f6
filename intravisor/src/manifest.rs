//! The manifest of a bare-metal image: the deployment, already validated on the host by
//! the same code as `intravisor run`, and every object it names, with its SHA-256.
//!
//! `cargo xtask image` encodes it ([`encode`], with `std`); the bare-metal intravisor
//! decodes it at boot ([`decode`], `no_std`) and checks every object against its digest
//! before anything uses it. Layout, little-endian throughout (`str` is a `u32` length
//! and UTF-8 bytes):
//!
//! ```text
//! "ORCIMG03"
//! u32 objects, then per object: str name, [u8; 32] sha256, u64 size
//! u32 cVMs, then per cVM: str name, str tenant, u64 region size, u64 stack size,
//!     u64 processor seconds (0: no limit), u32 program (object index), u32 n, n × u32 objects, u32 m, m × str arguments
//! u32 policies, then per policy: str tenant, str file name, str text
//! the objects' bytes, in order
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The first bytes of a manifest.
pub const MAGIC: &[u8; 8] = b"ORCIMG03";

/// An object of the image.
#[derive(Debug, Clone)]
pub struct ImageObject<'a> {
    /// Its file name.
    pub name: String,
    /// The SHA-256 the host computed.
    pub sha256: [u8; 32],
    /// Its bytes, inside the image.
    pub bytes: &'a [u8],
}

/// A cVM of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageCvm {
    /// Its name.
    pub name: String,
    /// Its tenant.
    pub tenant: String,
    /// Its region size.
    pub region_size: u64,
    /// Its stack size.
    pub stack_size: u64,
    /// The processor time it may use, in seconds (`isolation.cpu_seconds`).
    pub cpu_seconds: Option<u64>,
    /// Index of its program among the objects.
    pub program: usize,
    /// Indices of the shared objects it may link against.
    pub objects: Vec<usize>,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// The files it may read: the name it opens each by, and its object index (the
    /// file's bytes are packed, and digest-checked, like an object's).
    pub files: Vec<(String, usize)>,
    /// The host directory its outputs are written to through semihosting, if any.
    pub output: Option<String>,
}

/// A decoded manifest.
#[derive(Debug, Clone)]
pub struct Manifest<'a> {
    /// The objects.
    pub objects: Vec<ImageObject<'a>>,
    /// The cVMs, in deployment order.
    pub cvms: Vec<ImageCvm>,
    /// The tenants' policies: (tenant, file name, text).
    pub policies: Vec<(String, String, String)>,
}

/// Why a manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// It does not start with [`MAGIC`].
    BadMagic,
    /// It ends before the field at this offset.
    Truncated {
        /// The offset.
        offset: usize,
    },
    /// A string is not UTF-8.
    NotText {
        /// Its offset.
        offset: usize,
    },
    /// A cVM names an object index the manifest does not have.
    NoSuchObject {
        /// The cVM.
        cvm: String,
        /// The index.
        index: usize,
    },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => {
                write!(formatter, "the image has no manifest (it does not start with ORCIMG03)")
            }
            Self::Truncated { offset } => write!(formatter, "the manifest ends early, at byte {offset}"),
            Self::NotText { offset } => {
                write!(formatter, "the manifest's text at byte {offset} is not UTF-8")
            }
            Self::NoSuchObject { cvm, index } => {
                write!(formatter, "cVM `{cvm}` names object {index}, which the manifest does not have")
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], ManifestError> {
        let end = self.offset.checked_add(length).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(ManifestError::Truncated { offset: self.offset })?;
        let taken = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32, ManifestError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u64(&mut self) -> Result<u64, ManifestError> {
        let mut value = [0u8; 8];
        value.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(value))
    }

    fn text(&mut self) -> Result<String, ManifestError> {
        let length = self.u32()? as usize;
        let offset = self.offset;
        let bytes = self.take(length)?;
        core::str::from_utf8(bytes).map(String::from).map_err(|_| ManifestError::NotText { offset })
    }
}

/// Reads a manifest; the objects' bytes are borrowed from it.
pub fn decode(bytes: &[u8]) -> Result<Manifest<'_>, ManifestError> {
    let mut reader = Reader { bytes, offset: 0 };
    if reader.take(8).map_err(|_| ManifestError::BadMagic)? != MAGIC {
        return Err(ManifestError::BadMagic);
    }
    let mut headers = Vec::new();
    for _ in 0..reader.u32()? {
        let name = reader.text()?;
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(reader.take(32)?);
        headers.push((name, sha256, reader.u64()?));
    }
    let mut cvms = Vec::new();
    for _ in 0..reader.u32()? {
        let name = reader.text()?;
        let tenant = reader.text()?;
        let region_size = reader.u64()?;
        let stack_size = reader.u64()?;
        let cpu_seconds = Some(reader.u64()?).filter(|&seconds| seconds != 0);
        let program = reader.u32()? as usize;
        let objects = (0..reader.u32()?)
            .map(|_| reader.u32().map(|index| index as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let arguments = (0..reader.u32()?).map(|_| reader.text()).collect::<Result<Vec<_>, _>>()?;
        let files = (0..reader.u32()?)
            .map(|_| Ok((reader.text()?, reader.u32()? as usize)))
            .collect::<Result<Vec<_>, ManifestError>>()?;
        let output = Some(reader.text()?).filter(|output| !output.is_empty());
        for &index in core::iter::once(&program).chain(&objects).chain(files.iter().map(|(_, index)| index)) {
            if index >= headers.len() {
                return Err(ManifestError::NoSuchObject { cvm: name, index });
            }
        }
        cvms.push(ImageCvm {
            name,
            tenant,
            region_size,
            stack_size,
            cpu_seconds,
            program,
            objects,
            arguments,
            files,
            output,
        });
    }
    let mut policies = Vec::new();
    for _ in 0..reader.u32()? {
        policies.push((reader.text()?, reader.text()?, reader.text()?));
    }
    let mut objects = Vec::with_capacity(headers.len());
    for (name, sha256, size) in headers {
        let bytes = reader
            .take(usize::try_from(size).map_err(|_| ManifestError::Truncated { offset: reader.offset })?)?;
        objects.push(ImageObject { name, sha256, bytes });
    }
    Ok(Manifest { objects, cvms, policies })
}

/// Writes a manifest (pack time, on the host).
#[cfg(feature = "std")]
pub fn encode(
    objects: &[(String, [u8; 32], Vec<u8>)],
    cvms: &[ImageCvm],
    policies: &[(String, String, String)],
) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, text: &str) {
        out.extend((text.len() as u32).to_le_bytes());
        out.extend(text.as_bytes());
    }
    let mut out = MAGIC.to_vec();
    out.extend((objects.len() as u32).to_le_bytes());
    for (name, sha256, bytes) in objects {
        text(&mut out, name);
        out.extend(sha256);
        out.extend((bytes.len() as u64).to_le_bytes());
    }
    out.extend((cvms.len() as u32).to_le_bytes());
    for cvm in cvms {
        text(&mut out, &cvm.name);
        text(&mut out, &cvm.tenant);
        out.extend(cvm.region_size.to_le_bytes());
        out.extend(cvm.stack_size.to_le_bytes());
        out.extend(cvm.cpu_seconds.unwrap_or(0).to_le_bytes());
        out.extend((cvm.program as u32).to_le_bytes());
        out.extend((cvm.objects.len() as u32).to_le_bytes());
        for &index in &cvm.objects {
            out.extend((index as u32).to_le_bytes());
        }
        out.extend((cvm.arguments.len() as u32).to_le_bytes());
        for argument in &cvm.arguments {
            text(&mut out, argument);
        }
        out.extend((cvm.files.len() as u32).to_le_bytes());
        for (name, index) in &cvm.files {
            text(&mut out, name);
            out.extend((*index as u32).to_le_bytes());
        }
        text(&mut out, cvm.output.as_deref().unwrap_or(""));
    }
    out.extend((policies.len() as u32).to_le_bytes());
    for (tenant, file, policy) in policies {
        text(&mut out, tenant);
        text(&mut out, file);
        text(&mut out, policy);
    }
    for (_, _, bytes) in objects {
        out.extend(bytes);
    }
    out
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_and_truncations_are_caught() {
        let objects = vec![
            ("hello".to_string(), [7; 32], b"\x7fELF-hello".to_vec()),
            ("libcvm.so".to_string(), [9; 32], vec![1, 2, 3]),
        ];
        let cvms = vec![ImageCvm {
            name: "hello1".into(),
            tenant: "default".into(),
            region_size: 16 << 20,
            stack_size: 1 << 20,
            cpu_seconds: Some(3),
            program: 0,
            objects: vec![1],
            arguments: vec!["alpha".into()],
            files: vec![("in.txt".into(), 1)],
            output: Some("/tmp/out".into()),
        }];
        let policies = vec![("alpha".to_string(), "alpha.yaml".to_string(), "tenant: alpha\n".to_string())];
        let bytes = encode(&objects, &cvms, &policies);
        let manifest = decode(&bytes).unwrap();
        assert_eq!(manifest.cvms, cvms);
        assert_eq!(manifest.objects[0].bytes, b"\x7fELF-hello");
        assert_eq!(manifest.objects[1].sha256, [9; 32]);
        assert_eq!(manifest.policies, policies);
        for length in 0..bytes.len() {
            assert!(decode(&bytes[..length]).is_err(), "a manifest cut at {length} bytes is refused");
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert_eq!(decode(&wrong).unwrap_err(), ManifestError::BadMagic);
        let mut no_output = cvms.clone();
        no_output[0].output = None;
        assert_eq!(decode(&encode(&objects, &no_output, &policies)).unwrap().cvms, no_output);
    }
}
