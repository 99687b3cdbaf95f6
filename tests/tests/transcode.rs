//! The flagship workload: 8 transcoding cVMs on ffmpeg and musl, every library loaded
//! once; each output checked with Debian's ffprobe against the same transcode by a
//! native build of the same ffmpeg, and its frames decoded by Debian's ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

use tests::{root, run_deployment};

const LIBRARIES: [&str; 6] =
    ["libavutil", "libswresample", "libswscale", "libavcodec", "libavformat", "libavfilter"];

fn example() -> PathBuf {
    root().join("examples/transcode")
}

/// Runs a command and returns its standard output, failing the test on an error.
fn output_of(command: &mut Command) -> String {
    let description = format!("{command:?}");
    let output = command.output().unwrap_or_else(|error| panic!("cannot run {description}: {error}"));
    assert!(output.status.success(), "{description}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What Debian's ffprobe says of each stream: codec, size, frames counted, duration.
fn probe(file: &Path) -> String {
    output_of(
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-show_entries"])
            .arg("stream=codec_name,width,height,pix_fmt,sample_rate,channels,nb_read_frames,duration")
            .args(["-of", "compact"])
            .arg(file),
    )
}

/// The MD5 of every decoded video frame, by Debian's ffmpeg.
fn frame_digests(file: &Path) -> String {
    output_of(
        Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(file)
            .args(["-map", "0:v", "-f", "framemd5", "-"]),
    )
}

/// The same transcode by the native build of the same ffmpeg (`cargo xtask build`).
fn native_transcode(input: u32, output: &Path) {
    let build = root().join("target/native-ffmpeg/reduced/build");
    let library_path: Vec<String> =
        LIBRARIES.iter().map(|library| build.join(library).display().to_string()).collect();
    let inputs = example().join("build");
    output_of(
        Command::new(build.join("ffmpeg"))
            .env("LD_LIBRARY_PATH", library_path.join(":"))
            .args(["-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "128x96"])
            .args(["-r", "30", "-i"])
            .arg(inputs.join(format!("in{input}.yuv")))
            .args(["-f", "s16le", "-ar", "48000", "-ac", "2", "-i"])
            .arg(inputs.join(format!("in{input}.pcm")))
            .args(["-vf", "hue=s=0", "-c:v", "mpeg4", "-c:a", "ac3"])
            .arg(output),
    );
}

#[test]
fn eight_transcoders_share_ffmpeg_and_match_the_native_build() {
    tests::build_examples();
    let outputs = example().join("out");
    let _ = std::fs::remove_dir_all(&outputs);
    let run = run_deployment(&example().join("deploy.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let report = run.report.as_ref().expect("a report");
    for object in report["objects"].as_array().unwrap() {
        assert_eq!(
            (object["loads"].as_u64(), object["users"].as_u64()),
            (Some(1), Some(8)),
            "{} is loaded once for all 8 cVMs",
            object["name"]
        );
    }
    let names: Vec<&str> =
        report["objects"].as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    for object in ["ffmpeg", "libc.so", "libavcodec.so.59", "libavformat.so.59", "libavfilter.so.8"] {
        assert!(names.contains(&object), "{object} in {names:?}");
    }
    let scratch = tests::scratch("transcode");
    for input in 1..=8 {
        let name = format!("transcode{input}");
        assert_eq!(run.cvm(&name)["exit_code"], 0, "{name}: {}", run.stderr);
        let written = outputs.join(&name).join("out.avi");
        let native = scratch.join(format!("native{input}.avi"));
        native_transcode(input, &native);
        let probed = probe(&written);
        assert!(probed.contains("codec_name=mpeg4|width=128|height=96|pix_fmt=yuv420p"), "{probed}");
        assert!(probed.contains("nb_read_frames=60"), "{probed}");
        assert!(probed.contains("codec_name=ac3|sample_rate=48000|channels=2"), "{probed}");
        assert_eq!(probed, probe(&native), "{name}: ffprobe sees the same streams as in the native output");
        assert_eq!(frame_digests(&written), frame_digests(&native), "{name}: the frames decode identically");
        assert_eq!(
            std::fs::read(&written).unwrap(),
            std::fs::read(&native).unwrap(),
            "{name}: byte for byte the native build's output"
        );
        let entries = std::fs::read_dir(outputs.join(&name)).unwrap().count();
        assert_eq!(entries, 1, "{name} wrote nothing but out.avi");
    }
}

#[test]
fn a_transcoder_gets_no_file_it_was_not_granted_and_writes_nowhere_else() {
    tests::build_examples();
    let outputs = example().join("out");
    let run = run_deployment(&example().join("refused.yaml"));
    assert_eq!(run.code, Some(0), "both exit (with status 1): {}", run.stderr);
    let errors = format!("{}{}", run.stdout, run.stderr);
    assert!(errors.contains("[ungranted:err] in2.yuv: No such file or directory"), "{errors}");
    assert!(errors.contains("[escape:err] ../escape.avi: Permission denied"), "{errors}");
    for name in ["ungranted", "escape"] {
        assert_eq!(run.cvm(name)["exit_code"], 1);
    }
    assert!(!example().join("escape.avi").exists());
    assert!(!outputs.join("escape.avi").exists());
    assert!(std::fs::read_dir(outputs.join("ungranted")).map_or(true, |mut entries| entries.next().is_none()));
}
