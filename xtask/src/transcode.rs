//! `examples/transcode/`: the flagship workload's inputs and objects.
//!
//! Fills `examples/transcode/build/` (and `build-aarch64/`, for images) with ffmpeg (`crate::ffmpeg`, reduced) and its six
//! libraries under their sonames, `libc.so` and `libcvm.so`, and one input per cVM:
//! `inN.yuv` (raw 128x96 yuv420p, 60 frames, 30 fps: 2 s) and `inN.pcm` (s16le, 48 kHz
//! stereo, 2 s), each a different moving picture and tone, computed here so every run
//! and every machine gets the same bytes. Called by `crate::examples` for each target,
//! with the SDK it just built.

use std::path::Path;

use super::examples::CvmTarget;
use super::ffmpeg::{build_ffmpeg, copy, LIBRARIES};
use super::root;
use super::sdk::Sdk;

/// How many inputs (and cVMs in `deploy.yaml`).
pub const INPUTS: u32 = 8;
const WIDTH: usize = 128;
const HEIGHT: usize = 96;
const FRAMES: usize = 60;
const SAMPLE_RATE: usize = 48_000;
const SECONDS: usize = 2;

/// Builds ffmpeg for `target` on `libc` and `libos` and lays the example's `directory`
/// out: `build/` for this host, `build-aarch64/` for the bare-metal images.
pub fn build_for(target: CvmTarget, directory: &str, sdk: &Sdk) -> Result<(), String> {
    let ffmpeg = build_ffmpeg(target, false, sdk)?;
    let build = root().join("examples/transcode").join(directory);
    std::fs::create_dir_all(&build).map_err(|error| format!("cannot create {}: {error}", build.display()))?;
    for object in LIBRARIES.iter().chain(&["ffmpeg"]) {
        copy(&ffmpeg.directory.join(object), &build.join(object))?;
    }
    copy(&sdk.lib("libc.so"), &build.join("libc.so"))?;
    copy(&sdk.lib("libcvm.so"), &build.join("libcvm.so"))?;
    for input in 1..=INPUTS {
        write_if_changed(&build.join(format!("in{input}.yuv")), &video(input, WIDTH, HEIGHT))?;
        write_if_changed(&build.join(format!("in{input}.pcm")), &audio(input))?;
    }
    Ok(())
}

/// Frames of a gradient that moves at a speed set by `input`, with a bright square
/// crossing it; chroma drifts the other way. `width` x `height`, [`FRAMES`] frames.
pub(crate) fn video(input: u32, width: usize, height: usize) -> Vec<u8> {
    let speed = input as usize;
    let top = height * 40 / 96;
    let mut bytes = Vec::with_capacity(width * height * 3 / 2 * FRAMES);
    for frame in 0..FRAMES {
        let square = (frame * 2 + speed * 7) % (width - 16);
        for row in 0..height {
            for column in 0..width {
                let inside = (square..square + 16).contains(&column) && (top..top + 16).contains(&row);
                let luma = if inside { 235 } else { 16 + (column * 2 + row + frame * speed) % 200 };
                bytes.push(luma as u8);
            }
        }
        for plane in 0..2 {
            for row in 0..height / 2 {
                for column in 0..width / 2 {
                    let value = if plane == 0 { column + frame * 2 } else { row * 2 + speed * 16 + frame };
                    bytes.push((16 + value % 224) as u8);
                }
            }
        }
    }
    bytes
}

/// A tone at 220 Hz times `input` on the left, a fifth above on the right.
pub(crate) fn audio(input: u32) -> Vec<u8> {
    let samples = SAMPLE_RATE * SECONDS;
    let left = 220.0 * f64::from(input);
    let right = left * 1.5;
    let mut bytes = Vec::with_capacity(samples * 4);
    for index in 0..samples {
        let time = index as f64 / SAMPLE_RATE as f64;
        for frequency in [left, right] {
            let value = (8000.0 * (2.0 * std::f64::consts::PI * frequency * time).sin()).round() as i16;
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    bytes
}

/// Writes `bytes` unless the file holds them already (keeps its time for `make`-like
/// tools and saves rewriting megabytes on every build).
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|error| format!("cannot write {}: {error}", path.display()))
}
