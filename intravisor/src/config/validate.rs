//! From the raw file to a [`Deployment`]: every field checked, then the cVMs against
//! each other.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::confine::{nested, Roots};
use super::raw::{RawCvm, RawDeployment};
use super::{
    parse_size, ConfigError, CvmConfig, Deployment, FileGrant, ObjectRef, Wait, DEFAULT_STACK, MAXIMUM_REGION,
};
use crate::cvm::DEFAULT_THREADS;
use crate::handles::{DEFAULT_OPEN, MOST_OPEN};
use crate::hostcall::WriteBudget;
use crate::layout::MINIMUM_HEAP;
use crate::region::{check_region_size, PAGE_SIZE};

/// The most processor or wall time a cVM may be given, in seconds (a day).
const MOST_SECONDS: u64 = 86_400;
/// The largest deployment file: 1,000 cVMs take 200 KiB; a node reads the files a
/// container's bundle becomes, whose arguments a tenant writes.
const MOST_DEPLOYMENT_BYTES: u64 = 4 << 20;
/// The most objects one cVM may list: ffmpeg's full build with musl and the libOS needs
/// 8; each is read, hashed and parsed when the cVM is prepared, so a list a tenant
/// writes (or an image's `ORC_OBJECTS`) must not make that unbounded.
const MOST_OBJECTS: usize = 256;

/// Reads and validates the deployment file at `file`; what its cVMs read and write must
/// lie under its directory.
pub fn load(file: &Path) -> Result<Deployment, ConfigError> {
    load_allowing(file, &[])
}

/// Reads and validates the deployment file at `file`; what its cVMs read and write must
/// lie under its directory or one of the operator's `allowed` roots.
pub fn load_allowing(file: &Path, allowed: &[PathBuf]) -> Result<Deployment, ConfigError> {
    use std::io::Read;
    let read_error = |source| ConfigError::Read { file: file.to_path_buf(), source };
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|opened| opened.take(MOST_DEPLOYMENT_BYTES + 1).read_to_string(&mut text))
        .map_err(read_error)?;
    if text.len() as u64 > MOST_DEPLOYMENT_BYTES {
        return Err(ConfigError::Syntax {
            file: file.to_path_buf(),
            message: format!(
                "the file is larger than a deployment may be ({} MiB); split it",
                MOST_DEPLOYMENT_BYTES >> 20
            ),
        });
    }
    parse_allowing(&text, file, allowed)
}

/// Validates the text of a deployment file; relative paths in it are taken from the
/// directory `file` is in, and what its cVMs read and write must lie under it.
pub fn parse(text: &str, file: &Path) -> Result<Deployment, ConfigError> {
    parse_allowing(text, file, &[])
}

/// The YAML parser's message, with the one it gives for an integer past 64 bits (which
/// YAML allows) said plainly.
fn syntax_message(error: &serde_yaml_ng::Error) -> String {
    let message = error.to_string();
    match message.split_once("invalid type: integer `") {
        Some((field, rest)) if rest.contains("` as u128") => {
            let (number, rest) = rest.split_once("` as u128").unwrap_or_default();
            let location = rest.split_once(" at ").map(|(_, location)| location).unwrap_or_default();
            format!("{field}{number} does not fit in 64 bits; use a smaller number (at {location})")
        }
        _ => message,
    }
}

/// [`parse`], with the operator's `allowed` roots besides the deployment's directory.
pub fn parse_allowing(text: &str, file: &Path, allowed: &[PathBuf]) -> Result<Deployment, ConfigError> {
    let raw: RawDeployment = serde_yaml_ng::from_str(text)
        .map_err(|error| ConfigError::Syntax { file: file.to_path_buf(), message: syntax_message(&error) })?;
    if raw.cvms.is_empty() {
        return Err(ConfigError::NoCvms { file: file.to_path_buf() });
    }
    let directory = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let roots = Roots::new(&directory, allowed).map_err(|message| ConfigError::Deployment {
        file: file.to_path_buf(),
        field: "directory".into(),
        message,
    })?;
    let checker = Checker { file, directory: &directory, roots: &roots };
    let mut names = HashSet::new();
    let mut cvms = Vec::with_capacity(raw.cvms.len());
    for (index, raw_cvm) in raw.cvms.iter().enumerate() {
        let cvm = checker.cvm(index, raw_cvm)?;
        if !names.insert(cvm.name.clone()) {
            return Err(checker.error(
                &cvm.name,
                "name",
                "another cVM already has this name; names must be unique",
            ));
        }
        cvms.push(cvm);
    }
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    for (tenant, policy) in &raw.tenants {
        if let Some(problem) = policy::tenant_name_problem(tenant) {
            return Err(ConfigError::Tenant {
                file: file.to_path_buf(),
                tenant: tenant.clone(),
                message: format!(
                    "is not a valid tenant name: {}",
                    policy::explain_tenant_name_problem(problem)
                ),
            });
        }
        let path = directory.join(policy);
        if !path.is_file() {
            return Err(ConfigError::Tenant {
                file: file.to_path_buf(),
                tenant: tenant.clone(),
                message: format!("its policy `{}` is not a file", path.display()),
            });
        }
        tenants.push((tenant.clone(), path));
    }
    let control = match &raw.control {
        Some(control) => Some(roots.directory(&directory.join(control)).map_err(|message| {
            ConfigError::Deployment { file: file.to_path_buf(), field: "control".into(), message }
        })?),
        None => None,
    };
    let deployment = Deployment { file: file.to_path_buf(), cvms, tenants, control };
    check_outputs(&deployment)?;
    Ok(deployment)
}

/// Refuses outputs that are the same directory, nested, or hold anything the deployment
/// reads (itself, programs, objects, granted files, policies, its control directory).
fn check_outputs(deployment: &Deployment) -> Result<(), ConfigError> {
    let file = &deployment.file;
    let error = |cvm: &str, message: String| ConfigError::Field {
        file: file.clone(),
        cvm: cvm.to_string(),
        field: "output".to_string(),
        message,
    };
    let mut read: Vec<(PathBuf, String)> = vec![(file.clone(), "the deployment file".to_string())];
    for (tenant, policy) in &deployment.tenants {
        read.push((policy.clone(), format!("tenant `{tenant}`'s policy")));
    }
    if let Some(control) = &deployment.control {
        read.push((control.clone(), "the control directory".to_string()));
    }
    for cvm in &deployment.cvms {
        read.push((cvm.runtime.clone(), format!("cVM `{}`'s program", cvm.name)));
        for object in &cvm.objects {
            if let ObjectRef::Path(path) = object {
                read.push((path.clone(), format!("an object of cVM `{}`", cvm.name)));
            }
        }
        for grant in &cvm.files {
            read.push((grant.path.clone(), format!("a file granted to cVM `{}`", cvm.name)));
        }
    }
    // Compared resolved (a directory that does not exist yet is already resolved).
    for (path, _) in &mut read {
        if let Ok(resolved) = path.canonicalize() {
            *path = resolved;
        }
    }
    let outputs: Vec<(&str, &PathBuf)> =
        deployment.cvms.iter().filter_map(|cvm| Some((cvm.name.as_str(), cvm.output.as_ref()?))).collect();
    for (index, (cvm, output)) in outputs.iter().enumerate() {
        for (other, other_output) in &outputs[..index] {
            if nested(output, other_output) || nested(other_output, output) {
                return Err(error(
                    cvm,
                    format!(
                        "`{}` is, or is nested with, cVM `{other}`'s output `{}`; give each cVM a directory of its own",
                        output.display(),
                        other_output.display()
                    ),
                ));
            }
        }
        if let Some((path, what)) = read.iter().find(|(path, _)| nested(path, output) || nested(output, path))
        {
            return Err(error(
                cvm,
                format!(
                    "`{}` would hold `{}`, {what}; a cVM may not write where the deployment reads from",
                    output.display(),
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

struct Checker<'a> {
    file: &'a Path,
    directory: &'a Path,
    roots: &'a Roots,
}

impl Checker<'_> {
    fn error(&self, cvm: &str, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            file: self.file.to_path_buf(),
            cvm: cvm.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn cvm(&self, index: usize, raw: &RawCvm) -> Result<CvmConfig, ConfigError> {
        let name = raw.name.clone();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character));
        if !valid_name {
            return Err(self.error(
                &format!("#{}", index + 1),
                "name",
                format!("`{name}` is not a valid name: use 1 to 64 letters, digits, `-`, `_` or `.`"),
            ));
        }
        let tenant = raw.tenant.clone().unwrap_or_else(|| "default".to_string());
        if let Some(problem) = policy::tenant_name_problem(&tenant) {
            return Err(self.error(
                &name,
                "tenant",
                format!(
                    "`{tenant}` is not a valid tenant name: {}",
                    policy::explain_tenant_name_problem(problem)
                ),
            ));
        }
        let runtime = self.existing_file(&name, "runtime", &raw.runtime)?;
        if raw.objects.len() > MOST_OBJECTS {
            return Err(self.error(
                &name,
                "objects",
                format!(
                    "{} objects are more than a cVM may link against ({MOST_OBJECTS})",
                    raw.objects.len()
                ),
            ));
        }
        let objects = raw
            .objects
            .iter()
            .enumerate()
            .map(|(position, object)| self.object(&name, position, object))
            .collect::<Result<Vec<_>, _>>()?;
        let arguments = self.arguments(&name, raw.args.as_ref())?;
        let region_size = self.size(&name, "isolation.size", &raw.isolation.size)?;
        if region_size > MAXIMUM_REGION {
            return Err(self.error(
                &name,
                "isolation.size",
                format!("{region_size:#x} bytes is more than the largest region, {MAXIMUM_REGION:#x}"),
            ));
        }
        check_region_size(region_size)
            .map_err(|error| self.error(&name, "isolation.size", error.to_string()))?;
        let stack_size = match &raw.stack {
            Some(value) => self.size(&name, "stack", value)?,
            None => DEFAULT_STACK,
        };
        if stack_size < 4 * PAGE_SIZE || stack_size % PAGE_SIZE != 0 {
            return Err(self.error(
                &name,
                "stack",
                format!(
                    "{stack_size:#x} bytes: the stack must be a multiple of {PAGE_SIZE:#x} and at least 16K"
                ),
            ));
        }
        // Checked: a stack near 2^64 must be refused, not wrap around.
        let fixed = stack_size.checked_add(MINIMUM_HEAP + 2 * PAGE_SIZE);
        if fixed.is_none_or(|fixed| fixed >= region_size) {
            return Err(self.error(
                &name,
                "isolation.size",
                format!("{region_size:#x} bytes does not fit the stack ({stack_size:#x}), the minimum heap ({MINIMUM_HEAP:#x}) and the program; give it more"),
            ));
        }
        let cpu_seconds = self.seconds(&name, "isolation.cpu_seconds", raw.isolation.cpu_seconds.as_ref())?;
        let wall_seconds =
            self.seconds(&name, "isolation.wall_seconds", raw.isolation.wall_seconds.as_ref())?;
        let bytes = |field: &str, value: Option<&Value>, default: u64| match value {
            None | Some(Value::Null) => Ok(default),
            Some(value) => self.size(&name, field, value),
        };
        let console_bytes = bytes(
            "isolation.console_bytes",
            raw.isolation.console_bytes.as_ref(),
            WriteBudget::DEFAULT_CONSOLE_BYTES,
        )?;
        let open_files = self.count(
            &name,
            "isolation.open_files",
            raw.isolation.open_files.as_ref(),
            DEFAULT_OPEN,
            MOST_OPEN,
            "files",
        )?;
        let threads = self.count(
            &name,
            "isolation.threads",
            raw.isolation.threads.as_ref(),
            DEFAULT_THREADS,
            DEFAULT_THREADS,
            "threads",
        )?;
        let output_bytes = bytes(
            "isolation.output_bytes",
            raw.isolation.output_bytes.as_ref(),
            WriteBudget::DEFAULT_OUTPUT_BYTES,
        )?;
        let wait = match raw.wait.unwrap_or(0) {
            0 => Wait::No,
            -1 => Wait::UntilEnd,
            seconds if seconds > 0 => Wait::Seconds(seconds as u64),
            other => {
                return Err(self.error(
                    &name,
                    "wait",
                    format!("{other} is not a wait: use -1 (until the cVM ends), 0, or a number of seconds"),
                ))
            }
        };
        let files = raw
            .files
            .iter()
            .enumerate()
            .map(|(position, value)| self.file_grant(&name, position, value))
            .collect::<Result<Vec<_>, _>>()?;
        let mut granted = HashSet::new();
        for (position, grant) in files.iter().enumerate() {
            if !granted.insert(grant.name.clone()) {
                return Err(self.error(
                    &name,
                    &format!("files[{position}]"),
                    format!("`{}` is granted twice; give each file its own name", grant.name),
                ));
            }
        }
        let output = match &raw.output {
            Some(output) => Some(
                self.roots
                    .directory(&self.directory.join(output))
                    .map_err(|message| self.error(&name, "output", message))?,
            ),
            None => None,
        };
        Ok(CvmConfig {
            name,
            tenant,
            runtime,
            arguments,
            region_size,
            stack_size,
            cpu_seconds,
            wall_seconds,
            console_bytes,
            output_bytes,
            open_files,
            threads,
            wait,
            objects,
            files,
            output,
        })
    }

    /// A count from 1 to `most` of `what`, or `default` when the field is absent.
    fn count(
        &self,
        cvm: &str,
        field: &str,
        value: Option<&Value>,
        default: usize,
        most: usize,
        what: &str,
    ) -> Result<usize, ConfigError> {
        match value {
            None | Some(Value::Null) => Ok(default),
            Some(value) => match value.as_u64().and_then(|count| usize::try_from(count).ok()) {
                Some(count) if (1..=most).contains(&count) => Ok(count),
                _ => Err(self.error(cvm, field, format!("expected a number of {what} from 1 to {most}"))),
            },
        }
    }

    /// A time limit: a whole number of seconds from 1 to a day, or none.
    fn seconds(&self, cvm: &str, field: &str, value: Option<&Value>) -> Result<Option<u64>, ConfigError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_u64() {
                Some(seconds) if (1..=MOST_SECONDS).contains(&seconds) => Ok(Some(seconds)),
                _ => Err(self.error(
                    cvm,
                    field,
                    format!("expected a whole number of seconds from 1 to {MOST_SECONDS}"),
                )),
            },
        }
    }

    fn existing_file(&self, cvm: &str, field: &str, path: &str) -> Result<PathBuf, ConfigError> {
        let full = self.directory.join(path);
        if !full.is_file() {
            let hint = if field == "runtime" || field.starts_with("objects") {
                " (the examples' objects are built by `cargo xtask build`)"
            } else {
                ""
            };
            return Err(self.error(cvm, field, format!("`{}` is not a file{hint}", full.display())));
        }
        Ok(full)
    }

    fn object(&self, cvm: &str, position: usize, value: &Value) -> Result<ObjectRef, ConfigError> {
        let field = format!("objects[{position}]");
        match value {
            Value::String(path) => self.existing_file(cvm, &field, path).map(ObjectRef::Path),
            Value::Mapping(mapping) if mapping.len() == 1 => match mapping.iter().next() {
                Some((Value::String(key), Value::String(digest))) if key == "sha256" => {
                    policy::parse_digest(digest).map(ObjectRef::Digest).ok_or_else(|| {
                        self.error(
                            cvm,
                            &format!("{field}.sha256"),
                            format!("`{digest}` is not 64 hexadecimal digits"),
                        )
                    })
                }
                _ => Err(self.error(cvm, &field, "expected a path, or {sha256: <64 hex digits>}")),
            },
            _ => Err(self.error(cvm, &field, "expected a path, or {sha256: <64 hex digits>}")),
        }
    }

    fn size(&self, cvm: &str, field: &str, value: &Value) -> Result<u64, ConfigError> {
        match value {
            Value::Number(number) => number.as_u64().ok_or_else(|| {
                self.error(cvm, field, format!("{number} is not a size: write a positive number of bytes"))
            }),
            Value::String(text) => parse_size(text).map_err(|message| self.error(cvm, field, message)),
            _ => Err(self.error(cvm, field, "expected a size such as 16M or 0x1000000")),
        }
    }

    fn arguments(&self, cvm: &str, value: Option<&Value>) -> Result<Vec<String>, ConfigError> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(text.split_whitespace().map(str::to_string).collect()),
            Some(Value::Sequence(items)) => items
                .iter()
                .enumerate()
                .map(|(position, item)| match item {
                    Value::String(text) => Ok(text.clone()),
                    Value::Number(number) => Ok(number.to_string()),
                    _ => Err(self.error(cvm, &format!("args[{position}]"), "expected a string")),
                })
                .collect(),
            Some(_) => Err(self.error(cvm, "args", "expected a string or a list of strings")),
        }
    }

    fn file_grant(&self, cvm: &str, position: usize, value: &Value) -> Result<FileGrant, ConfigError> {
        let field = format!("files[{position}]");
        let (path, name) = match value {
            Value::String(path) => (path.clone(), None),
            Value::Mapping(mapping) => {
                let mut path = None;
                let mut name = None;
                for (key, value) in mapping {
                    match (key.as_str(), value.as_str()) {
                        (Some("path"), Some(value)) => path = Some(value.to_string()),
                        (Some("as"), Some(value)) => name = Some(value.to_string()),
                        (Some(key @ ("path" | "as")), None) => {
                            return Err(self.error(cvm, &format!("{field}.{key}"), "expected a string"))
                        }
                        (key, _) => {
                            return Err(self.error(
                                cvm,
                                &field,
                                format!("unknown field `{}`, expected `path` or `as`", key.unwrap_or("?")),
                            ))
                        }
                    }
                }
                let path = path.ok_or_else(|| self.error(cvm, &field, "missing field `path`"))?;
                (path, name)
            }
            _ => return Err(self.error(cvm, &field, "expected a path, or a mapping with `path` and `as`")),
        };
        let full = self.existing_file(cvm, &format!("{field}.path"), &path)?;
        let full =
            self.roots.file(&full).map_err(|message| self.error(cvm, &format!("{field}.path"), message))?;
        let name = match name {
            Some(name) => name,
            None => Path::new(&path)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        if !is_plain_file_name(&name) {
            return Err(self.error(
                cvm,
                &format!("{field}.as"),
                format!("`{name}` is not a plain file name (no `/`, not `.` or `..`)"),
            ));
        }
        Ok(FileGrant { name, path: full })
    }
}

/// A name a cVM may use for a file: non-empty, at most 255 bytes, no `/` or NUL, not
/// `.` or `..`.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name != "." && name != ".." && !name.contains(['/', '\0'])
}
