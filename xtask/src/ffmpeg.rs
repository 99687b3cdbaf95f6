//! Building ffmpeg 5.1 for cVMs: its libraries as shared ORC objects and the `ffmpeg`
//! program, on cvm-libc (musl) and cvm-libos, every file through the cls-pass.
//!
//! The source is Debian's `ffmpeg` source package (`crate::sources`). ffmpeg's own
//! `configure` and `Makefile` build it out of tree in `target/cvm-ffmpeg/<rust-target>/`,
//! cross-compiling for a Linux that is in fact the libOS, with the SDK's `cvm-cc` as
//! compiler and linker (`crate::sdk`): musl's headers instead of the system's, links
//! against `libc.so` and `libcvm.so` only, programs started by
//! `cvm-libos/c/start_libc.c`. The reduced configuration has exactly what the transcode
//! workload needs (rawvideo and pcm_s16le in; mpeg4, ac3, avi out; hue, scale,
//! aresample); `--full` has every codec, format and filter of ffmpeg's own (still no
//! external library). No assembly. With threads (`pthread_create`, served by cvm-libos
//! and the platform: host threads, or bare metal turns on the one core).
//!
//! Outputs: `target/cvm-ffmpeg/<rust-target>/<configuration>/` holds `ffmpeg` and the six
//! libraries under their sonames (`libavutil.so.57`, ...).

use std::path::{Path, PathBuf};

use super::examples::CvmTarget;
use super::root;
use super::sdk::Sdk;
use super::setup::CLANG;
use super::sources::{configure_and_make, unpacked_source};

/// The upstream version.
const FFMPEG_VERSION: &str = "5.1.9";

/// The libraries, as the program needs them, with their sonames.
pub const LIBRARIES: [&str; 6] = [
    "libavutil.so.57",
    "libswresample.so.4",
    "libswscale.so.6",
    "libavcodec.so.59",
    "libavformat.so.59",
    "libavfilter.so.8",
];

/// Options shared by both configurations.
const COMMON: [&str; 16] = [
    "--disable-autodetect",
    "--disable-asm",
    "--disable-doc",
    "--disable-network",
    "--disable-debug",
    "--disable-stripping",
    "--disable-iconv",
    "--enable-pic",
    "--enable-shared",
    "--disable-static",
    "--disable-avdevice",
    "--disable-postproc",
    "--disable-ffprobe",
    "--disable-ffplay",
    "--enable-cross-compile",
    "--target-os=linux",
];

/// What the transcode workload needs, and no more.
const REDUCED: [&str; 7] = [
    "--disable-everything",
    "--enable-protocol=file",
    "--enable-demuxer=rawvideo,pcm_s16le",
    "--enable-decoder=rawvideo,pcm_s16le",
    "--enable-encoder=mpeg4,ac3",
    "--enable-muxer=avi",
    "--enable-filter=hue,scale,aresample",
];

/// A built ffmpeg.
#[derive(Debug, Clone)]
pub struct FfmpegBuild {
    /// The directory holding `ffmpeg` and the libraries under their sonames.
    pub directory: PathBuf,
}

/// `cargo xtask ffmpeg [--full]`.
pub fn run_command(arguments: &[String]) -> Result<(), String> {
    let full = match arguments {
        [] => false,
        [flag] if flag == "--full" => true,
        _ => return Err("usage: cargo xtask ffmpeg [--full]".to_string()),
    };
    super::setup::install()?;
    let started = std::time::Instant::now();
    let target = CvmTarget::host();
    let build = build_ffmpeg(target, full, &crate::sdk::build(target)?)?;
    println!(
        "xtask: built ffmpeg in {} in {:.1} s",
        build.directory.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds ffmpeg for `target` with its SDK (`crate::sdk`): reduced, or `full`.
pub fn build_ffmpeg(target: CvmTarget, full: bool, sdk: &Sdk) -> Result<FfmpegBuild, String> {
    let configuration = if full { "full" } else { "reduced" };
    let source = unpacked_source("ffmpeg", FFMPEG_VERSION, "RELEASE")?;
    let output = root().join("target/cvm-ffmpeg").join(target.rust).join(configuration);
    let build = output.join("build");
    std::fs::create_dir_all(&build).map_err(|error| format!("cannot create {}: {error}", build.display()))?;

    let arch = if target == CvmTarget::aarch64() { "aarch64" } else { "x86_64" };
    let mut configure: Vec<String> = COMMON.iter().map(|option| option.to_string()).collect();
    if !full {
        configure.extend(REDUCED.iter().map(|option| option.to_string()));
    }
    // The driver brings the target, the cls-pass, musl's headers, and for links the
    // start file, libc.so, libcvm.so and the runtime library (`-lm`, `-lpthread` are
    // musl's empty archives in the SDK).
    configure.extend([
        format!("--arch={arch}"),
        format!("--cc={}", sdk.cc().display()),
        format!("--ld={}", sdk.cc().display()),
        format!("--ar={}", sdk.tool("cvm-ar").display()),
        format!("--ranlib={}", sdk.tool("cvm-ranlib").display()),
        "--pkg-config=false".to_string(),
        "--extra-cflags=-fno-stack-protector".to_string(),
    ]);

    let stamp = sdk.stamp(&configure)?;
    let what = format!("ffmpeg {FFMPEG_VERSION} ({configuration}) for {}", target.clang);
    configure_and_make(&source, &output, &configure, &stamp, &what, &[])?;

    let directory = output.join("objects");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    for library in LIBRARIES {
        let name = library.split(".so").next().unwrap_or(library);
        copy(&build.join(name).join(library), &directory.join(library))?;
    }
    copy(&build.join("ffmpeg"), &directory.join("ffmpeg"))?;
    Ok(FfmpegBuild { directory })
}

/// Builds the same ffmpeg natively (glibc, the system's dynamic linker, no cls-pass) in
/// `target/native-ffmpeg/<configuration>/`: the reference the cVMs' outputs are
/// compared with. Returns the build directory (`ffmpeg` there, each library in its
/// subdirectory).
pub fn build_native(full: bool) -> Result<PathBuf, String> {
    let configuration = if full { "full" } else { "reduced" };
    let source = unpacked_source("ffmpeg", FFMPEG_VERSION, "RELEASE")?;
    let output = root().join("target/native-ffmpeg").join(configuration);
    let build = output.join("build");
    let mut configure: Vec<String> =
        COMMON.iter().filter(|option| !is_cross_option(option)).map(|option| option.to_string()).collect();
    if !full {
        configure.extend(REDUCED.iter().map(|option| option.to_string()));
    }
    configure.push(format!("--cc={CLANG}"));
    let what = format!("the native reference ffmpeg ({configuration})");
    configure_and_make(&source, &output, &configure, &configure.join("\n"), &what, &[])?;
    Ok(build)
}

fn is_cross_option(option: &str) -> bool {
    option == "--enable-cross-compile" || option.starts_with("--target-os")
}

pub(crate) fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|error| format!("cannot copy {} to {}: {error}", from.display(), to.display()))
}
