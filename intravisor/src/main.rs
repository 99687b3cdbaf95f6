//! The `intravisor` command: run a deployment of cVMs on this host.
//!
//! ```text
//! intravisor run deploy.yaml [--report report.json]
//! intravisor check deploy.yaml
//! ```
//!
//! Exit status: 0 when every cVM ran and exited (whatever its own status), 1 when a cVM
//! faulted or was refused (each is named on standard error), 2 when the deployment
//! itself is invalid and nothing ran.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use intravisor::config;
use intravisor::cvm::OutputSink;
use intravisor::report::Status;
use intravisor::runner::Intravisor;

#[derive(Debug, Parser)]
#[command(version, about = "Runs capability-bounded cVMs that share immutable objects")]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every cVM of a deployment file.
    Run {
        /// The deployment file (YAML).
        deployment: PathBuf,
        /// Write the JSON report here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Validate a deployment file without running it.
    Check {
        /// The deployment file (YAML).
        deployment: PathBuf,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match Arguments::parse().command {
        Command::Check { deployment } => match config::load(&deployment) {
            Ok(deployment) => {
                println!("{}: {} cVMs, valid", deployment.file.display(), deployment.cvms.len());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("intravisor: {error}");
                ExitCode::from(2)
            }
        },
        Command::Run { deployment, report } => run(&deployment, report.as_deref()),
    }
}

fn run(file: &std::path::Path, report_file: Option<&std::path::Path>) -> ExitCode {
    let deployment = match config::load(file) {
        Ok(deployment) => deployment,
        Err(error) => {
            eprintln!("intravisor: {error}");
            return ExitCode::from(2);
        }
    };
    let intravisor = match Intravisor::for_deployment(&deployment, OutputSink::stdout()) {
        Ok(intravisor) => intravisor,
        Err(error) => {
            eprintln!("intravisor: {error}");
            return ExitCode::from(2);
        }
    };
    let report = intravisor.run(&deployment);
    if let Some(report_file) = report_file {
        let json = serde_json::to_string_pretty(&report).expect("the report is plain data");
        if let Err(error) = std::fs::write(report_file, json + "\n") {
            eprintln!("intravisor: cannot write the report to `{}`: {error}", report_file.display());
            return ExitCode::from(2);
        }
    }
    for cvm in &report.cvms {
        match cvm.status {
            Status::Exited => {}
            Status::Faulted => match &cvm.fault {
                Some(fault) => eprintln!(
                    "intravisor: cVM `{}` faulted: {} at address {:#x} (instruction at {:#x})",
                    cvm.name, fault.cause, fault.address, fault.pc
                ),
                None => eprintln!(
                    "intravisor: cVM `{}` faulted: {}",
                    cvm.name,
                    cvm.reason.as_deref().unwrap_or("")
                ),
            },
            Status::Refused => {
                eprintln!("intravisor: cVM `{}` refused: {}", cvm.name, cvm.reason.as_deref().unwrap_or(""))
            }
        }
    }
    if report.all_exited() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
