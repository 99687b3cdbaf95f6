//! An OCI bundle as a cVM: the deployment file of one cVM the node is asked to create,
//! made from the bundle's `config.json` and its root filesystem.
//!
//! - the program is `process.args[0]` inside the root filesystem, its arguments the rest;
//! - the objects it links against are the image's `ORC_OBJECTS` (paths inside the root
//!   filesystem, `:`-separated, in load order), as `cargo xtask oci` writes it; an entry
//!   `sha256=HEX` asks for an object another tenant publishes, as in a deployment;
//! - the region is the annotation `org.orc.intravisor.region-size`, else the image's
//!   `ORC_REGION_SIZE`, else the container's memory limit, else 64M;
//! - the tenant is the annotation `org.orc.intravisor.tenant`, else the Kubernetes
//!   namespace (`io.kubernetes.cri.sandbox-namespace`), else `default`;
//! - bind mounts give it files: a regular file is granted read-only under the name its
//!   destination ends with; one writable directory is its output directory.
//!
//! Every path of the image is resolved inside the root filesystem: a program or object
//! that is (or passes through) a symbolic link leading out of it is refused, as is
//! anything a cVM cannot be given (a terminal, a read-only directory, two outputs).

use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Spec;

/// Why a bundle is not a cVM.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// `config.json` names no program.
    #[error("the container's process has no args: its first is the cVM's program")]
    NoProgram,
    /// A path of the image is not inside its root filesystem.
    #[error("the image's `{path}` ({what}) {problem}")]
    OutsideRoot {
        /// The path as the image names it.
        path: String,
        /// What it is for.
        what: &'static str,
        /// Why it is refused.
        problem: String,
    },
    /// The container asks for what a cVM does not have.
    #[error("{0}")]
    Unsupported(String),
}

/// Annotations the shim reads.
const REGION_ANNOTATION: &str = "org.orc.intravisor.region-size";
const TENANT_ANNOTATION: &str = "org.orc.intravisor.tenant";
const KUBERNETES_NAMESPACE: &str = "io.kubernetes.cri.sandbox-namespace";
/// The region of a cVM whose container says nothing of its size.
const DEFAULT_REGION: &str = "64M";

/// The deployment (as JSON, which is YAML) of the one cVM `spec` describes, its image
/// unpacked at `rootfs`.
pub fn deployment_of(spec: &Spec, rootfs: &Path) -> Result<serde_json::Value, BundleError> {
    let process = spec.process().as_ref().ok_or(BundleError::NoProgram)?;
    if process.terminal().unwrap_or(false) {
        return Err(BundleError::Unsupported(
            "a cVM has no terminal: run the container without a TTY (no -t)".to_string(),
        ));
    }
    let args = process.args().as_deref().unwrap_or_default();
    let (program, arguments) = args.split_first().ok_or(BundleError::NoProgram)?;
    let environment = process.env().as_deref().unwrap_or_default();
    let variable = |name: &str| {
        environment.iter().find_map(|entry| entry.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
    };
    let objects: Vec<serde_json::Value> = variable("ORC_OBJECTS")
        .unwrap_or_default()
        .split(':')
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.strip_prefix("sha256=") {
            Some(digest) => Ok(serde_json::json!({ "sha256": digest })),
            None => inside(rootfs, entry, "an object of ORC_OBJECTS").map(|path| serde_json::json!(path)),
        })
        .collect::<Result<_, _>>()?;
    let annotations = spec.annotations().clone().unwrap_or_default();
    let memory_limit = spec
        .linux()
        .as_ref()
        .and_then(|linux| linux.resources().as_ref())
        .and_then(|resources| resources.memory().as_ref())
        .and_then(|memory| memory.limit())
        .filter(|&limit| limit > 0)
        .map(|limit| limit.to_string());
    let region = annotations
        .get(REGION_ANNOTATION)
        .cloned()
        .or_else(|| variable("ORC_REGION_SIZE"))
        .or(memory_limit)
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    let tenant = annotations
        .get(TENANT_ANNOTATION)
        .or_else(|| annotations.get(KUBERNETES_NAMESPACE))
        .cloned()
        .unwrap_or_else(|| "default".to_string());
    let (files, output) = grants(spec)?;
    let mut cvm = serde_json::json!({
        "name": "container",
        "tenant": tenant,
        "runtime": inside(rootfs, program, "the program, process.args[0]")?,
        "objects": objects,
        "args": arguments,
        "files": files,
        "isolation": {"size": region},
    });
    if let Some(output) = output {
        cvm["output"] = serde_json::json!(output);
    }
    Ok(serde_json::json!({ "cVMs": [cvm] }))
}

/// The files and output directory the bind mounts of `spec` grant.
fn grants(spec: &Spec) -> Result<(Vec<serde_json::Value>, Option<PathBuf>), BundleError> {
    let mut files = Vec::new();
    let mut output = None;
    for mount in spec.mounts().as_deref().unwrap_or_default() {
        let options = mount.options().as_deref().unwrap_or_default();
        let is_bind =
            mount.typ().as_deref() == Some("bind") || options.iter().any(|option| option.ends_with("bind"));
        let (Some(source), true) = (mount.source(), is_bind) else { continue };
        let destination = mount.destination();
        let name =
            destination.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let metadata = std::fs::metadata(source).map_err(|error| {
            BundleError::Unsupported(format!(
                "the mount of `{}` cannot be granted: {error}",
                source.display()
            ))
        })?;
        let read_only = options.iter().any(|option| option == "ro");
        if metadata.is_file() {
            files.push(serde_json::json!({"path": source, "as": name}));
        } else if metadata.is_dir() && !read_only {
            if let Some(first) = output.replace(source.clone()) {
                return Err(BundleError::Unsupported(format!(
                    "a cVM has one output directory; the container mounts `{}` and `{}` writable",
                    first.display(),
                    source.display()
                )));
            }
        } else {
            return Err(BundleError::Unsupported(format!(
                "the mount at `{}` is a read-only directory: a cVM is granted files, so mount each file, or make the directory its writable output",
                destination.display()
            )));
        }
    }
    Ok((files, output))
}

/// `path`, as the image names it, resolved inside `rootfs` (following links only
/// inside it).
fn inside(rootfs: &Path, path: &str, what: &'static str) -> Result<PathBuf, BundleError> {
    let refuse = |problem: String| BundleError::OutsideRoot { path: path.to_string(), what, problem };
    if Path::new(path).components().any(|component| component == Component::ParentDir) {
        return Err(refuse("names `..`".to_string()));
    }
    let root = rootfs.canonicalize().map_err(|error| {
        refuse(format!("cannot be looked for: the root filesystem {}: {error}", rootfs.display()))
    })?;
    let resolved = root.join(path.trim_start_matches('/')).canonicalize().map_err(|error| {
        refuse(format!("is not in the image's root filesystem {}: {error}", root.display()))
    })?;
    if !resolved.starts_with(&root) {
        return Err(refuse(format!("leads out of the image's root filesystem, to {}", resolved.display())));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::{deployment_of, BundleError};
    use oci_spec::runtime::Spec;

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_image_and_its_mounts_make_one_cvm_and_nothing_leaves_the_root() {
        let directory = std::env::temp_dir().join(format!("orc-bundle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let rootfs = directory.join("rootfs");
        std::fs::create_dir_all(rootfs.join("orc/lib")).unwrap();
        std::fs::write(rootfs.join("orc/program"), b"x").unwrap();
        std::fs::write(rootfs.join("orc/lib/liba.so"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", rootfs.join("orc/lib/libescape.so")).unwrap();
        std::os::unix::fs::symlink("liba.so", rootfs.join("orc/lib/libinside.so")).unwrap();
        std::fs::write(directory.join("input.yuv"), b"frames").unwrap();
        std::fs::create_dir_all(directory.join("out")).unwrap();
        let rootfs_path = rootfs.canonicalize().unwrap();
        let good = spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["/orc/program", "-i", "in.yuv"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                        "env": ["PATH=/bin", "ORC_OBJECTS=/orc/lib/liba.so:/orc/lib/libinside.so:sha256=ab12"]},
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/in/in.yuv", "type": "bind", "source": directory.join("input.yuv"), "options": ["rbind", "ro"]},
                {"destination": "/out", "type": "bind", "source": directory.join("out"), "options": ["rbind", "rw"]}
            ],
            "annotations": {"io.kubernetes.cri.sandbox-namespace": "acme"},
            "linux": {"resources": {"memory": {"limit": 33554432}}}
        }));
        let deployment = deployment_of(&good, &rootfs).unwrap();
        let cvm = &deployment["cVMs"][0];
        assert_eq!(cvm["runtime"], rootfs_path.join("orc/program").display().to_string());
        assert_eq!(
            cvm["objects"][1],
            rootfs_path.join("orc/lib/liba.so").display().to_string(),
            "a link inside the root"
        );
        assert_eq!(cvm["objects"][2], serde_json::json!({"sha256": "ab12"}), "another tenant's, by digest");
        assert_eq!(cvm["args"], serde_json::json!(["-i", "in.yuv"]));
        assert_eq!(cvm["tenant"], "acme");
        assert_eq!(cvm["isolation"]["size"], "33554432");
        assert_eq!(cvm["files"][0]["as"], "in.yuv");
        assert_eq!(cvm["output"], directory.join("out").display().to_string());

        let refused = |mut json: serde_json::Value, edit: &dyn Fn(&mut serde_json::Value)| {
            edit(&mut json);
            deployment_of(&spec(json), &rootfs).unwrap_err().to_string()
        };
        let base = serde_json::to_value(&good).unwrap();
        let escape = refused(base.clone(), &|json| {
            json["process"]["env"][1] = "ORC_OBJECTS=/orc/lib/libescape.so".into();
        });
        assert!(escape.contains("leads out of the image's root filesystem, to /etc/passwd"), "{escape}");
        let dotdot = refused(base.clone(), &|json| json["process"]["args"][0] = "/../../bin/sh".into());
        assert!(dotdot.contains("(the program, process.args[0]) names `..`"), "{dotdot}");
        let terminal = refused(base.clone(), &|json| json["process"]["terminal"] = true.into());
        assert!(terminal.contains("a cVM has no terminal"), "{terminal}");
        let read_only = refused(base.clone(), &|json| json["mounts"][2]["options"][1] = "ro".into());
        assert!(read_only.contains("is a read-only directory"), "{read_only}");
        let two = refused(base.clone(), &|json| {
            let second = json["mounts"][2].clone();
            json["mounts"].as_array_mut().unwrap().push(second);
        });
        assert!(two.contains("a cVM has one output directory"), "{two}");
        let none = refused(base, &|json| json["process"]["args"] = serde_json::json!([]));
        assert!(none.contains("has no args"), "{none}");
        assert!(matches!(
            deployment_of(&Spec::default(), &rootfs),
            Err(BundleError::NoProgram | BundleError::OutsideRoot { .. })
        ));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
