//! The flagship workload: 8 transcoding cVMs on ffmpeg and musl, every library loaded
//! once; each output checked with Debian's ffprobe against the same transcode by a
//! native build of the same ffmpeg, and its frames decoded by Debian's ffmpeg.

use std::path::PathBuf;

use tests::transcode::{frame_digests, native, probe};
use tests::{root, run_deployment};

fn example() -> PathBuf {
    root().join("examples/transcode")
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
        // ffmpeg's input threads (one per input file), at least.
        let threads = run.cvm(&name)["threads"].as_u64().unwrap_or(0);
        assert!(threads >= 3, "{name} ran {threads} threads");
        // The kernel's count of its process: its region's heap at least (ffmpeg's tables),
        // below the region's size, the shared objects counted in part.
        let kernel = &run.cvm(&name)["kernel"];
        let (pss, rss, private, shared) = (
            kernel["peak_pss"].as_u64().unwrap(),
            kernel["rss"].as_u64().unwrap(),
            kernel["private"].as_u64().unwrap(),
            kernel["shared"].as_u64().unwrap(),
        );
        assert!(pss > 1 << 20 && pss < 64 << 20, "{name}: Pss {pss}");
        assert!(private <= pss && pss <= rss && private + shared == rss, "{name}: {kernel}");
        assert!(shared > 1 << 20, "{name} maps the shared objects: {kernel}");
        let written = outputs.join(&name).join("out.avi");
        let native_output = scratch.join(format!("native{input}.avi"));
        // A cVM on the host is given the host's processors, as the native ffmpeg sees them.
        native(input, &native_output, None);
        let probed = probe(&written);
        assert!(probed.contains("codec_name=mpeg4|width=128|height=96|pix_fmt=yuv420p"), "{probed}");
        assert!(probed.contains("nb_read_frames=60"), "{probed}");
        assert!(probed.contains("codec_name=ac3|sample_rate=48000|channels=2"), "{probed}");
        assert_eq!(
            probed,
            probe(&native_output),
            "{name}: ffprobe sees the same streams as in the native output"
        );
        assert_eq!(
            frame_digests(&written),
            frame_digests(&native_output),
            "{name}: the frames decode identically"
        );
        assert_eq!(
            std::fs::read(&written).unwrap(),
            std::fs::read(&native_output).unwrap(),
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
