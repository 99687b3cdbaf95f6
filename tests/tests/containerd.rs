//! The intravisor as a containerd runtime: Debian's containerd, started for the test with
//! its state and socket in the scratch directory, runs the transcoder's OCI image
//! (`cargo xtask oci`) with `ctr run --runtime io.containerd.intravisor.v1`; every
//! container is a cVM of one node, which loads each of ffmpeg's objects once for all.
//! Needs root and containerd (`cargo xtask setup` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use intravisor::node::{Phase, Request, Response};
use tests::containerd::{transcoder_mounts, Containerd, IMAGE, RUNTIME};
use tests::node::Node;
use tests::transcode::{frame_digests, native, probe};
use tests::{root, scratch};

/// containerd for one test, its shim the one this workspace builds, serving the node at
/// `node_socket`; stopped when dropped, with the shims it started.
fn start_containerd(directory: &Path, node_socket: &Path) -> Containerd {
    Containerd::start(directory, &shim_binary(), node_socket).unwrap_or_else(|error| panic!("{error}"))
}

/// `ctr ARGUMENTS`, which must succeed; its standard output.
fn must(containerd: &Containerd, arguments: &[&str]) -> String {
    containerd.ctr(arguments).unwrap_or_else(|error| panic!("{error}\ncontainerd: {}", containerd.log()))
}

fn shim_binary() -> PathBuf {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
        .args(["build", "--quiet", "-p", "containerd-shim-intravisor"])
        .current_dir(root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the shim builds");
    root().join("target/debug/containerd-shim-intravisor-v1")
}

/// The transcoder's image archive, written once for every test of this file.
fn image() -> PathBuf {
    static ARCHIVE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ARCHIVE
        .get_or_init(|| {
            let archive = scratch("containerd-image").join("orc-transcode.tar");
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
                .args(["run", "--quiet", "-p", "xtask", "--", "oci", "-o"])
                .arg(&archive)
                .current_dir(root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo xtask oci");
            archive
        })
        .clone()
}

/// `ctr run` arguments for transcoder `name` of input `input` (the example's inputs),
/// writing into `output`.
fn transcoder(name: &str, input: u32, output: &Path, extra: &[&str]) -> Vec<String> {
    let mut arguments: Vec<String> = ["run", "-d", "--runtime", RUNTIME].map(String::from).to_vec();
    arguments.extend(transcoder_mounts(input, output));
    arguments.extend(extra.iter().map(|argument| argument.to_string()));
    arguments.extend([IMAGE, name, "/orc/bin/ffmpeg"].map(String::from));
    arguments.extend(
        "-hide_banner -loglevel warning -nostdin -f rawvideo -pix_fmt yuv420p -s 128x96 -r 30 -i in.yuv -f s16le -ar 48000 -ac 2 -i in.pcm -vf hue=s=0 -c:v mpeg4 -c:a ac3 out.avi"
            .split(' ')
            .map(String::from),
    );
    arguments
}

fn wait_stopped(node: &Node, id: &str) -> intravisor::node::ContainerState {
    node.state(Request::Wait { id: id.to_string() })
}

#[test]
fn eight_containers_are_cvms_of_one_node_sharing_every_object() {
    let directory = scratch("containerd");
    let node = Node::start("containerd-node", &["--allow-root", &directory.display().to_string()]);
    let containerd = start_containerd(&directory, &node.directory.join("node.sock"));
    let archive = image();
    must(&containerd, &["image", "import", &archive.display().to_string()]);

    let baseline = node.resident();

    // Two transcoders that read their input again and again: they run until killed.
    for name in ["endless", "bystander"] {
        let output = directory.join(name);
        std::fs::create_dir_all(&output).unwrap();
        let arguments = transcoder(name, 1, &output, &[]);
        let mut arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let at = arguments.iter().position(|argument| *argument == "-f").unwrap();
        arguments.splice(at..at, ["-stream_loop", "-1"]);
        must(&containerd, &arguments);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while ["endless", "bystander"]
        .iter()
        .any(|id| node.state(Request::State { id: id.to_string() }).pid.is_none())
    {
        assert!(Instant::now() < deadline, "the endless transcoders did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Eight transcoders, started detached, waited for through the node. Their objects are
    // the copies the two running ones use.
    let names: Vec<String> = (1..=8).map(|input| format!("transcode{input}")).collect();
    for (index, name) in names.iter().enumerate() {
        let output = directory.join(name);
        std::fs::create_dir_all(&output).unwrap();
        let arguments = transcoder(name, index as u32 + 1, &output, &[]);
        must(&containerd, &arguments.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let mut copies = Vec::new();
    for name in &names {
        let stopped = wait_stopped(&node, name);
        assert_eq!(stopped.exit_status, Some(0), "{name}: {stopped:?}\nnode: {}", Node::log(&node.directory));
        copies.push(stopped.report.unwrap().objects.iter().map(|object| object.copy).collect::<Vec<_>>());
    }
    assert!(copies.iter().all(|copy| copy == &copies[0] && copy.iter().all(Option::is_some)), "{copies:?}");
    let objects = node.objects();
    assert_eq!(objects.objects.len(), 9, "ffmpeg and its 8 objects: {objects:?}");
    for object in &objects.objects {
        assert_eq!(
            (object.loads, object.users),
            (1, 10),
            "{} is loaded once for the 8 transcoders and the 2 endless ones",
            object.name
        );
    }
    let tasks = containerd.tasks().unwrap();
    for name in &names {
        assert!(tasks.contains(&(name.clone(), "STOPPED".to_string())), "{name} in {tasks:?}");
    }
    let scratch_native = scratch("containerd-native");
    for (index, name) in names.iter().enumerate() {
        let written = directory.join(name).join("out.avi");
        let native_output = scratch_native.join(format!("{name}.avi"));
        native(index as u32 + 1, &native_output, None);
        assert_eq!(probe(&written), probe(&native_output), "{name}: the same streams as the native build's");
        assert_eq!(frame_digests(&written), frame_digests(&native_output), "{name}: the same frames");
    }

    // A killed container ends alone, and `ctr task ls` says so.
    must(&containerd, &["task", "kill", "endless"]);
    let killed = wait_stopped(&node, "endless");
    assert_eq!(killed.exit_status, Some(128 + 15), "{killed:?}");
    let tasks = containerd.tasks().unwrap();
    assert!(tasks.contains(&("endless".to_string(), "STOPPED".to_string())), "{tasks:?}");
    assert!(tasks.contains(&("bystander".to_string(), "RUNNING".to_string())), "{tasks:?}");
    assert_eq!(node.state(Request::State { id: "bystander".into() }).phase, Phase::Running);
    match node.ask(Request::Stats { id: "bystander".into() }) {
        Ok(Response::Stats(stats)) => assert!(
            stats.pss.is_some_and(|pss| pss > 1 << 20) && stats.shared_object_bytes > 1 << 20,
            "{stats:?}"
        ),
        other => panic!("stats: {other:?}"),
    }
    let metrics = must(&containerd, &["task", "metrics", "bystander"]);
    assert!(metrics.contains("memory.usage_in_bytes"), "{metrics}");
    must(&containerd, &["task", "kill", "-s", "SIGKILL", "bystander"]);
    assert_eq!(wait_stopped(&node, "bystander").exit_status, Some(128 + 9));

    // Deleting every container leaves nothing on the node.
    for name in names.iter().map(String::as_str).chain(["endless", "bystander"]) {
        must(&containerd, &["task", "delete", name]);
        must(&containerd, &["container", "delete", name]);
    }
    assert!(node.containers().is_empty());
    assert_eq!(node.objects().shared_copies_loaded, 0, "every object is unloaded with its last container");
    let resident = node.resident();
    eprintln!(
        "node resident: {baseline} bytes before the first container, {resident} after the last is deleted"
    );
    // What is left is live heap the allocator cannot give back (300 KB measured); glibc's
    // cache of thread stacks, off in a node, and a second arena had kept 1-2.5 MB.
    assert!(
        resident <= baseline + (1 << 20),
        "the node holds {resident} bytes once every container is deleted, {baseline} before the first"
    );
}

#[test]
fn a_bad_container_fails_at_create_with_the_reason_in_containerds_error() {
    let directory = scratch("containerd-refusals");
    let node = Node::start("containerd-refusals-node", &["--allow-root", &directory.display().to_string()]);
    let containerd = start_containerd(&directory, &node.directory.join("node.sock"));
    let archive = image();
    must(&containerd, &["image", "import", &archive.display().to_string()]);
    let output = directory.join("out");
    std::fs::create_dir_all(&output).unwrap();

    // A malformed image: its program is cut short.
    let rootfs = directory.join("malformed-rootfs");
    std::fs::create_dir_all(rootfs.join("orc/bin")).unwrap();
    let program = std::fs::read(root().join("examples/transcode/build/ffmpeg")).unwrap();
    std::fs::write(rootfs.join("orc/bin/ffmpeg"), &program[..4096]).unwrap();
    let malformed = containerd.ctr(&[
        "run",
        "--runtime",
        RUNTIME,
        "--rootfs",
        &rootfs.display().to_string(),
        "malformed",
        "/orc/bin/ffmpeg",
    ]);
    let error = malformed.expect_err("ctr run fails");
    assert!(error.contains("container `malformed` refused: the loader refused"), "{error}");

    // A tenant whose policy may not use what it asks for: `gamma` given an object by digest.
    let libc = root().join("examples/transcode/build/libc.so");
    let digest = intravisor::objects::ObjectFile::read(&libc).unwrap().digest_hex();
    let refused_arguments =
        transcoder("refused", 1, &output, &["--annotation", "org.orc.intravisor.tenant=gamma"]);
    let mut refused_arguments: Vec<&str> = refused_arguments.iter().map(String::as_str).collect();
    let stranger = format!("ORC_OBJECTS=/orc/lib/libc.so:sha256={digest}");
    refused_arguments.splice(4..4, ["--env", &stranger]);
    let refused = containerd.ctr(&refused_arguments);
    let error = refused.expect_err("ctr run fails");
    assert!(error.contains("refused by a sharing policy: tenant `gamma` may not use"), "{error}");

    // A read-only directory: a cVM is granted files, not directories.
    let directory_mount = format!("type=bind,src={},dst=/data,options=rbind:ro", directory.display());
    let arguments = transcoder("directory", 1, &output, &["--mount", &directory_mount]);
    let mounted = containerd.ctr(&arguments.iter().map(String::as_str).collect::<Vec<_>>());
    let error = mounted.expect_err("ctr run fails");
    assert!(error.contains("the mount at `/data` is a read-only directory"), "{error}");

    // Nothing is left behind, and a good container still runs.
    assert!(node.containers().is_empty(), "{:?}", node.containers());
    assert_eq!(node.objects().shared_copies_loaded, 0);
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(&directory.join("state").display().to_string()),
        "a root filesystem stayed mounted"
    );
    let arguments = transcoder("fine", 2, &output, &[]);
    must(&containerd, &arguments.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(wait_stopped(&node, "fine").exit_status, Some(0));
}
