//! One transcode alone, as a cVM process and as a native process, timed only (`bench
//! steady 1`): five runs of each in turn, over every processor and then on one, and
//! their median frames per second compared.

use std::process::Command;

use super::density::{sampled, FRAMES};
use super::workload::Workload;

/// Runs of each.
const ALONE_ROUNDS: usize = 5;

/// One transcode alone as a cVM process (`orc` makes its command, `name` names it) and
/// as a native process (`processes`), [`ALONE_ROUNDS`] times each, one after the other,
/// timed only: the table's rows run once each, beside a sampler reading the Pss of every
/// process of the run (more of them for an intravisor than for one native process), and
/// this machine's speed drifts by several percent between runs. Then the same on one
/// processor (`taskset`): this machine's two slow each other, which weighs on a
/// transcode spread over both more than its own work does. Prints the median frames per
/// second of each; returns them as JSON.
pub fn speed(
    name: &str,
    orc: &dyn Fn() -> Result<Vec<Command>, String>,
    processes: &dyn Fn() -> Result<Vec<Command>, String>,
    workload: Workload,
    progress: &indicatif::ProgressBar,
) -> Result<serde_json::Value, String> {
    let last = std::thread::available_parallelism().map_or(1, |count| count.get()) - 1;
    let mut json = serde_json::Map::new();
    for (key, processors) in [("all_processors", None), ("one_processor", Some(last))] {
        let pinned = |command: Command| match processors {
            Some(processor) => on_processor(processor, &command),
            None => command,
        };
        let (mut orc_fps, mut native_fps) = (Vec::new(), Vec::new());
        progress.inc_length(1);
        progress.inc(1);
        for round in 1..=ALONE_ROUNDS {
            progress.set_message(format!(
                "one transcode alone, timed only ({key}): round {round} of {ALONE_ROUNDS}"
            ));
            orc_fps.push(timed_fps(orc()?.into_iter().map(pinned).collect(), workload)?);
            native_fps.push(timed_fps(processes()?.into_iter().map(pinned).collect(), workload)?);
        }
        orc_fps.sort_by(f64::total_cmp);
        native_fps.sort_by(f64::total_cmp);
        let (orc_median, native_median) = (orc_fps[ALONE_ROUNDS / 2], native_fps[ALONE_ROUNDS / 2]);
        let behind = (1.0 - orc_median / native_median) * 100.0;
        let place = processors.map_or("over every processor".to_string(), |processor| {
            format!("on processor {processor} alone")
        });
        progress.suspend(|| {
            println!(
                "one transcode alone, timed only, {ALONE_ROUNDS} runs of each in turn, {place}: {name} {orc_median:.0} frames/s (median; {:.0}-{:.0}), native process {native_median:.0} ({:.0}-{:.0}): {behind:.1} % behind",
                orc_fps[0],
                orc_fps[ALONE_ROUNDS - 1],
                native_fps[0],
                native_fps[ALONE_ROUNDS - 1],
            )
        });
        json.insert(
            key.to_string(),
            serde_json::json!({
                "rounds": ALONE_ROUNDS,
                "orc_fps": orc_fps,
                "native_fps": native_fps,
                "orc_median_fps": orc_median,
                "native_median_fps": native_median,
                "behind_percent": behind,
            }),
        );
    }
    Ok(serde_json::json!({ "alone_timed_only": json }))
}

/// Frames per second of one transcode run by `commands`, timed only.
fn timed_fps(commands: Vec<Command>, workload: Workload) -> Result<f64, String> {
    Ok(FRAMES * f64::from(workload.loops + 1) / sampled(commands, None)?.seconds)
}

/// `command` run by `taskset` on `processor` alone (it and every process it starts).
fn on_processor(processor: usize, command: &Command) -> Command {
    let mut pinned = Command::new("taskset");
    pinned.arg("--cpu-list").arg(processor.to_string()).arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => pinned.env(key, value),
            None => pinned.env_remove(key),
        };
    }
    pinned
}
