//! The transcode the benchmarks run, at one frame size: its inputs, the ffmpeg
//! arguments, the deployment files of its cVMs and the commands of its native
//! processes.
//!
//! Every transcode is the example's (`examples/transcode`): 60 frames of raw yuv420p
//! video at 30 fps and 2 s of 48 kHz stereo, to mpeg4 and ac3 in an avi, through the hue
//! filter. At 128x96 the inputs are the example's own (`cargo xtask build` writes them);
//! at larger sizes the same moving pictures are computed at that size into
//! `target/density/inputs/<size>/`, once. Transcoder `n` reads input `(n - 1) % 8 + 1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ffmpeg::LIBRARIES;
use super::root;
use super::transcode::{audio, video, write_if_changed, INPUTS};

/// One transcode: its frame size, how many more times its inputs play, and which
/// ffmpeg runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    pub width: u32,
    pub height: u32,
    pub loops: u32,
    /// The full build of ffmpeg (every codec, format and filter of its own) instead of
    /// the reduced one (what the transcode needs).
    pub full: bool,
}

impl Workload {
    /// The example's transcode, 128x96, its inputs played `loops` more times.
    pub const fn small(loops: u32) -> Self {
        Self { width: 128, height: 96, loops, full: false }
    }

    /// A short transcode at `width` x `height`.
    pub const fn sized(width: u32, height: u32) -> Self {
        Self { width, height, loops: 0, full: false }
    }

    /// The same transcode by the full build of ffmpeg.
    pub const fn by_full_build(self) -> Self {
        Self { full: true, ..self }
    }

    /// `128x96`.
    pub fn size(self) -> String {
        format!("{}x{}", self.width, self.height)
    }

    /// `reduced` or `full`.
    pub fn build(self) -> &'static str {
        if self.full {
            "full"
        } else {
            "reduced"
        }
    }

    /// Where the cVMs' `ffmpeg` and its six libraries are (the example's, for the
    /// reduced build; musl's `libc.so` and `libcvm.so` are always the example's).
    fn objects(self) -> PathBuf {
        if self.full {
            root()
                .join("target/cvm-ffmpeg")
                .join(super::examples::CvmTarget::host().rust)
                .join("full/objects")
        } else {
            root().join("examples/transcode/build")
        }
    }

    /// A cVM's region: room for its heap of frames (a native process of the 1280x720
    /// transcode peaks at 48 MB resident).
    fn region(self) -> &'static str {
        match self.width * self.height {
            0..=65_536 => "64M",
            65_537..=262_144 => "128M",
            _ => "256M",
        }
    }

    /// The directory holding `in1.yuv` ... and `in1.pcm` ... at this size, computed
    /// first where they are not the example's.
    pub fn inputs(self) -> Result<PathBuf, String> {
        if (self.width, self.height) == (128, 96) {
            return Ok(root().join("examples/transcode/build"));
        }
        let directory = root().join("target/density/inputs").join(self.size());
        std::fs::create_dir_all(&directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
        for input in 1..=INPUTS {
            let yuv = directory.join(format!("in{input}.yuv"));
            let frame = self.width as usize * self.height as usize * 3 / 2;
            // Computing 60 frames at 1280x720 takes a while: a file of the right size is
            // taken as computed (the file names hold the size).
            if std::fs::metadata(&yuv).map(|metadata| metadata.len()).ok() != Some((frame * 60) as u64) {
                write_if_changed(&yuv, &video(input, self.width as usize, self.height as usize))?;
            }
            write_if_changed(&directory.join(format!("in{input}.pcm")), &audio(input))?;
        }
        Ok(directory)
    }

    /// Where native transcode `index` of `count` writes, under `directory`.
    pub fn native_output(self, directory: &Path, count: u32, index: u32) -> PathBuf {
        directory.join("out").join(format!("{}-{index}.avi", self.name("native", count)))
    }

    /// The name of files and directories of `kind` with `count` transcoders.
    fn name(self, kind: &str, count: u32) -> String {
        let build = if self.full { "full-" } else { "" };
        if (self.width, self.height) == (128, 96) {
            format!("{kind}-{build}{count}-{}", self.loops)
        } else {
            format!("{kind}-{build}{}-{count}-{}", self.size(), self.loops)
        }
    }
}

/// The native transcodes: `count` processes of the native build.
pub fn native_commands(
    build: &Path,
    directory: &Path,
    count: u32,
    workload: Workload,
) -> Result<Vec<Command>, String> {
    let inputs = workload.inputs()?;
    let outputs = directory.join("out");
    std::fs::create_dir_all(&outputs)
        .map_err(|error| format!("cannot create {}: {error}", outputs.display()))?;
    Ok((1..=count)
        .map(|index| {
            let input = (index - 1) % INPUTS + 1;
            let mut command = Command::new(build.join("ffmpeg"));
            command.env("LD_LIBRARY_PATH", native_library_path(build)).args(ffmpeg_arguments(
                &inputs.join(format!("in{input}.yuv")).display().to_string(),
                &inputs.join(format!("in{input}.pcm")).display().to_string(),
                &workload.native_output(directory, count, index).display().to_string(),
                workload,
            ));
            command
        })
        .collect())
}

/// Where the native build's libraries are, as `LD_LIBRARY_PATH`.
pub fn native_library_path(build: &Path) -> String {
    let directories: Vec<String> = LIBRARIES
        .iter()
        .map(|library| build.join(library.split(".so").next().unwrap_or(library)).display().to_string())
        .collect();
    directories.join(":")
}

/// The native ffmpeg's arguments for one transcode.
pub fn ffmpeg_arguments(yuv: &str, pcm: &str, output: &str, workload: Workload) -> Vec<String> {
    let count = workload.loops.to_string();
    let size = workload.size();
    let looped: Vec<&str> = if workload.loops == 0 { Vec::new() } else { vec!["-stream_loop", &count] };
    let mut arguments: Vec<&str> = vec!["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];
    arguments.extend(&looped);
    arguments.extend(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", &size, "-r", "30", "-i", yuv]);
    arguments.extend(&looped);
    arguments.extend(["-f", "s16le", "-ar", "48000", "-ac", "2", "-i", pcm]);
    arguments.extend(["-vf", "hue=s=0", "-c:v", "mpeg4", "-c:a", "ac3", output]);
    arguments.into_iter().map(str::to_string).collect()
}

/// What the transcoding cVMs of a deployment share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// Each cVM in a tenant of its own: private copies of every object.
    Private,
    /// All in one tenant: every object loaded once.
    Shared,
    /// All in one tenant whose policy also opts into run-time sharing.
    SharedAtRunTime { after_milliseconds: u32 },
}

/// A deployment of `count` transcoders over the example's build.
pub fn write_deployment(
    directory: &Path,
    count: u32,
    objects: Objects,
    workload: Workload,
) -> Result<PathBuf, String> {
    let build = root().join("examples/transcode/build");
    let programs = workload.objects();
    let inputs = workload.inputs()?;
    let kind = match objects {
        Objects::Private => "private",
        Objects::Shared => "orc",
        Objects::SharedAtRunTime { .. } => "orc-run-time",
    };
    let loops = workload.loops;
    let looped = if loops == 0 { String::new() } else { format!("-stream_loop, \"{loops}\", ") };
    let object_files: Vec<String> = ["libc.so", "libcvm.so"]
        .iter()
        .map(|object| build.join(object))
        .chain(LIBRARIES.iter().map(|library| programs.join(library)))
        .map(|object| object.display().to_string())
        .collect();
    let mut text = String::new();
    if let Objects::SharedAtRunTime { after_milliseconds } = objects {
        let policy = directory.join("fleet-run-time-sharing.yaml");
        let policy_text = format!("tenant: fleet\nrun_time_sharing:\n  after_ms: {after_milliseconds}\n");
        std::fs::write(&policy, policy_text)
            .map_err(|error| format!("cannot write {}: {error}", policy.display()))?;
        text.push_str(&format!("tenants:\n  fleet: {}\n", policy.display()));
    }
    text.push_str("cVMs:\n");
    for index in 1..=count {
        let input = (index - 1) % INPUTS + 1;
        let tenant = if objects == Objects::Private { format!("tenant{index}") } else { "fleet".to_string() };
        text.push_str(&format!(
            "  - name: transcode{index}\n    tenant: {tenant}\n    runtime: {}\n    objects: [{}]\n    \
             args: [-hide_banner, -loglevel, warning, -nostdin, -y, {looped}-f, rawvideo, -pix_fmt, yuv420p, -s, {}, -r, \"30\", -i, in.yuv, {looped}-f, \
             s16le, -ar, \"48000\", -ac, \"2\", -i, in.pcm, -vf, hue=s=0, -c:v, mpeg4, -c:a, ac3, out.avi]\n    \
             files:\n      - {{path: {}, as: in.yuv}}\n      - {{path: {}, as: in.pcm}}\n    output: {}\n    \
             isolation: {{size: {}}}\n",
            programs.join("ffmpeg").display(),
            object_files.join(", "),
            workload.size(),
            inputs.join(format!("in{input}.yuv")).display(),
            inputs.join(format!("in{input}.pcm")).display(),
            directory.join("out").join(format!("{}-{index}", workload.name(kind, count))).display(),
            workload.region(),
        ));
    }
    let file = directory.join(format!("{}.yaml", workload.name(kind, count)));
    std::fs::write(&file, text).map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::{ffmpeg_arguments, Workload};

    #[test]
    fn the_arguments_carry_the_frame_size_and_the_loops() {
        let arguments = ffmpeg_arguments("a.yuv", "a.pcm", "a.avi", Workload::sized(1280, 720));
        let size = arguments.iter().position(|argument| argument == "-s").expect("a size");
        assert_eq!(arguments[size + 1], "1280x720");
        assert!(!arguments.iter().any(|argument| argument == "-stream_loop"));
        let looped = ffmpeg_arguments("a.yuv", "a.pcm", "a.avi", Workload::small(29));
        assert_eq!(looped.iter().filter(|argument| *argument == "-stream_loop").count(), 2);
        assert_eq!(looped[looped.iter().position(|argument| argument == "-s").unwrap() + 1], "128x96");
    }

    #[test]
    fn larger_frames_get_larger_regions_and_names_of_their_own() {
        assert_eq!(Workload::small(0).region(), "64M");
        assert_eq!(Workload::sized(640, 360).region(), "128M");
        assert_eq!(Workload::sized(1280, 720).region(), "256M");
        assert_eq!(Workload::small(0).name("orc", 8), "orc-8-0");
        assert_eq!(Workload::sized(640, 360).name("orc", 8), "orc-640x360-8-0");
        assert_eq!(Workload::small(0).by_full_build().name("native", 64), "native-full-64-0");
    }
}
