//! The `intravisor` command: run a deployment of cVMs on this host.
//!
//! ```text
//! intravisor run deploy.yaml [--report report.json] [--in-process [--ksm]]
//! intravisor check deploy.yaml
//! intravisor report report.json [--tenant NAME]
//! intravisor revoke deploy.yaml --tenant NAME --object NAME|SHA256
//! intravisor node --socket PATH [--tenant NAME=POLICY]... [--control DIR]
//! intravisor ctl --socket PATH create|start|wait|kill|delete|state|list|stats|objects|shutdown ...
//! ```
//!
//! `node` keeps one intravisor running whose cVMs come and go as containers (a container
//! runtime's shim drives it through `ctl`'s protocol); `ctl` asks it, and prints its
//! answer as JSON.
//!
//! Each cVM runs as a sandboxed process of its own. `--in-process` runs them as threads
//! of the intravisor's own process instead, which does not isolate them: for trusted
//! code and benchmarks only.
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
use intravisor::runner::{Intravisor, Isolation};

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
        /// Run every cVM on threads of the intravisor's own process. This does NOT
        /// isolate: a cVM's code can read and write the intravisor and the other cVMs.
        /// For trusted code and benchmarks only.
        #[arg(long)]
        in_process: bool,
        /// Let Linux's KSM merge identical pages of cVM memory (it must be running:
        /// /sys/kernel/mm/ksm/run); for comparing KSM with ORC's sharing. Needs
        /// --in-process: KSM merges only private anonymous memory.
        #[arg(long, requires = "in_process")]
        ksm: bool,
        /// A directory, besides the deployment's own, that its cVMs' granted files,
        /// outputs and control directory may lie under (repeatable).
        #[arg(long = "allow-root", value_name = "DIR")]
        allow_roots: Vec<PathBuf>,
    },
    /// Validate a deployment file and its tenants' policies without running it.
    Check {
        /// The deployment file (YAML).
        deployment: PathBuf,
        /// A directory, besides the deployment's own, that its cVMs' granted files,
        /// outputs and control directory may lie under (repeatable).
        #[arg(long = "allow-root", value_name = "DIR")]
        allow_roots: Vec<PathBuf>,
    },
    /// Show what each tenant (or one) sees in a run's JSON report.
    Report {
        /// The JSON report `run --report` wrote.
        report: PathBuf,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Run a node: one intravisor whose cVMs are created, started, killed and deleted one
    /// at a time through a control socket, sharing objects across all of them.
    Node {
        /// The control socket to listen at.
        #[arg(long)]
        socket: PathBuf,
        /// Address space for every container's region at once.
        #[arg(long, default_value = "64G", value_parser = parse_size)]
        regions: u64,
        /// A tenant's sharing policy, as NAME=FILE (repeatable).
        #[arg(long = "tenant", value_name = "NAME=FILE")]
        tenants: Vec<String>,
        /// Where `intravisor revoke` writes revocations, read before each container is created.
        #[arg(long)]
        control: Option<PathBuf>,
        /// A directory, besides each container's deployment directory, that its granted
        /// files and output may lie under (repeatable).
        #[arg(long = "allow-root", value_name = "DIR")]
        allow_roots: Vec<PathBuf>,
    },
    /// Ask a running node (`intravisor node`); prints its answer as JSON.
    Ctl {
        /// The node's control socket.
        #[arg(long)]
        socket: PathBuf,
        #[command(subcommand)]
        request: CtlRequest,
    },
    /// Withdraw a tenant's publication of an object: cVMs started from now on no longer
    /// share it; running ones keep it until they end.
    Revoke {
        /// The deployment file (YAML); revocations go to its `control` directory.
        deployment: PathBuf,
        /// The publishing tenant.
        #[arg(long)]
        tenant: String,
        /// The published object, by name or SHA-256.
        #[arg(long)]
        object: String,
        /// A directory, besides the deployment's own, that its cVMs' granted files,
        /// outputs and control directory may lie under (repeatable).
        #[arg(long = "allow-root", value_name = "DIR")]
        allow_roots: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum CtlRequest {
    /// Create a container from a deployment file of one cVM.
    Create {
        id: String,
        deployment: PathBuf,
        /// Where its standard output goes (file or FIFO).
        #[arg(long)]
        stdout: Option<PathBuf>,
        /// Where its standard error goes (file or FIFO).
        #[arg(long)]
        stderr: Option<PathBuf>,
    },
    /// Start a created container.
    Start { id: String },
    /// Wait until a container has stopped.
    Wait { id: String },
    /// End a container's cVM.
    Kill {
        id: String,
        #[arg(long, default_value_t = 15)]
        signal: i32,
    },
    /// Delete a stopped or created container.
    Delete { id: String },
    /// A container's state.
    State { id: String },
    /// Every container's state.
    List,
    /// A container's memory.
    Stats { id: String },
    /// The objects of the node's containers.
    Objects,
    /// End every container and stop the node.
    Shutdown,
}

fn parse_size(text: &str) -> Result<u64, String> {
    config::parse_size(text)
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match Arguments::parse().command {
        Command::Check { deployment, allow_roots } => match load(&deployment, &allow_roots) {
            Ok((deployment, policies)) => check(&deployment, policies),
            Err(code) => code,
        },
        Command::Run { deployment, report, in_process, ksm, allow_roots } => {
            let isolation = if in_process { Isolation::InProcess } else { Isolation::Process };
            run(&deployment, &allow_roots, report.as_deref(), isolation, ksm)
        }
        Command::Report { report, tenant } => show_report(&report, tenant.as_deref()),
        Command::Node { socket, regions, tenants, control, allow_roots } => {
            run_node(&socket, regions, &tenants, control, allow_roots)
        }
        Command::Ctl { socket, request } => ctl(&socket, request),
        Command::Revoke { deployment, tenant, object, allow_roots } => {
            let deployment = match config::load_allowing(&deployment, &allow_roots) {
                Ok(deployment) => deployment,
                Err(error) => {
                    eprintln!("intravisor: {error}");
                    return ExitCode::from(2);
                }
            };
            match intravisor::policies::revoke(&deployment, &tenant, &object) {
                Ok(digest) => {
                    println!(
                        "revoked: tenant `{tenant}` no longer shares sha256 {}",
                        policy::digest_hex(&digest)
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("intravisor: {error}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// Reads a deployment and its policies, or says why not (exit status 2).
fn load(
    file: &std::path::Path,
    allowed: &[PathBuf],
) -> Result<(config::Deployment, policy::PolicySet), ExitCode> {
    let deployment = config::load_allowing(file, allowed).map_err(|error| {
        eprintln!("intravisor: {error}");
        ExitCode::from(2)
    })?;
    let policies = intravisor::policies::load(&deployment).map_err(|error| {
        eprintln!("intravisor: {error}");
        ExitCode::from(2)
    })?;
    Ok((deployment, policies))
}

/// `check`: what `run` would refuse before starting a cVM is refused here, with the same
/// message (exit status 2); no cVM runs.
fn check(deployment: &config::Deployment, policies: policy::PolicySet) -> ExitCode {
    let intravisor =
        match Intravisor::for_deployment_with(deployment, OutputSink::stdout(), Isolation::InProcess) {
            Ok(intravisor) => intravisor,
            Err(error) => {
                eprintln!("intravisor: {error}");
                return ExitCode::from(2);
            }
        };
    let refusals = intravisor.check(deployment, policies);
    for (cvm, reason) in &refusals {
        eprintln!("intravisor: cVM `{cvm}` refused: {reason}");
    }
    if !refusals.is_empty() {
        return ExitCode::from(2);
    }
    println!(
        "{}: {} cVMs, {} tenant policies, valid: every cVM's objects load and plan, and its tenant's policy and limits admit it",
        deployment.file.display(),
        deployment.cvms.len(),
        deployment.tenants.len()
    );
    ExitCode::SUCCESS
}

fn show_report(file: &std::path::Path, tenant: Option<&str>) -> ExitCode {
    let report: serde_json::Value =
        match std::fs::read_to_string(file).map(|text| serde_json::from_str(&text)) {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => {
                eprintln!("intravisor: {} is not a report: {error}", file.display());
                return ExitCode::from(2);
            }
            Err(error) => {
                eprintln!("intravisor: cannot read {}: {error}", file.display());
                return ExitCode::from(2);
            }
        };
    let tenants: Vec<intravisor::tenants::TenantReport> =
        match serde_json::from_value(report["tenants"].clone()) {
            Ok(tenants) => tenants,
            Err(error) => {
                eprintln!("intravisor: {} has no tenants section: {error}", file.display());
                return ExitCode::from(2);
            }
        };
    let chosen: Vec<_> =
        tenants.iter().filter(|report| tenant.is_none_or(|tenant| report.name == tenant)).collect();
    if chosen.is_empty() {
        eprintln!("intravisor: no tenant `{}` in {}", tenant.unwrap_or(""), file.display());
        return ExitCode::from(2);
    }
    for report in chosen {
        print!("{}", intravisor::tenants::describe(report));
    }
    ExitCode::SUCCESS
}

fn run(
    file: &std::path::Path,
    allowed: &[PathBuf],
    report_file: Option<&std::path::Path>,
    isolation: Isolation,
    ksm: bool,
) -> ExitCode {
    let (deployment, policies) = match load(file, allowed) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if isolation == Isolation::InProcess {
        log::warn!("--in-process: cVMs run as threads of the intravisor and are not isolated from it or from each other");
    }
    let intravisor = match Intravisor::for_deployment_with(&deployment, OutputSink::stdout(), isolation) {
        Ok(intravisor) => intravisor,
        Err(error) => {
            eprintln!("intravisor: {error}");
            return ExitCode::from(2);
        }
    };
    if ksm {
        if let Err(error) = intravisor.make_mergeable() {
            eprintln!("intravisor: --ksm: {error}");
            return ExitCode::from(2);
        }
    }
    let report = intravisor.run(&deployment, policies);
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
            Status::Killed => {
                eprintln!("intravisor: cVM `{}` {}", cvm.name, cvm.reason.as_deref().unwrap_or("killed"))
            }
        }
    }
    if report.all_exited() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `node`: reads the tenants' policies, then serves until asked to shut down.
fn run_node(
    socket: &std::path::Path,
    regions_size: u64,
    tenants: &[String],
    control: Option<PathBuf>,
    allow_roots: Vec<PathBuf>,
) -> ExitCode {
    if let Err(error) = intravisor::platform::without_thread_stack_cache() {
        log::warn!("the node keeps glibc's cache of thread stacks (cannot run itself again: {error})");
    }
    let mut policies = Vec::new();
    for entry in tenants {
        let Some((tenant, file)) = entry.split_once('=') else {
            eprintln!("intravisor: --tenant `{entry}`: expected NAME=FILE");
            return ExitCode::from(2);
        };
        let parsed = std::fs::read_to_string(file)
            .map_err(|error| format!("cannot read the policy of tenant `{tenant}` at {file}: {error}"))
            .and_then(|text| policy::parse(&text, file).map_err(|error| error.to_string()));
        match parsed {
            Ok(policy) => policies.push((tenant.to_string(), policy, file.to_string())),
            Err(error) => {
                eprintln!("intravisor: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let settings = intravisor::node::NodeSettings { regions_size, allow_roots, policies, control };
    let node = match intravisor::node::Node::new(settings) {
        Ok(node) => std::sync::Arc::new(node),
        Err(error) => {
            eprintln!("intravisor: {error}");
            return ExitCode::from(2);
        }
    };
    match intravisor::node::serve(node, socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("intravisor: {error}");
            ExitCode::from(2)
        }
    }
}

/// `ctl`: one request to a node; its answer as JSON on standard output.
fn ctl(socket: &std::path::Path, request: CtlRequest) -> ExitCode {
    use intravisor::node::Request;
    let request = match request {
        CtlRequest::Create { id, deployment, stdout, stderr } => {
            // The node resolves paths itself: relative ones are the client's.
            let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
            Request::Create {
                id,
                deployment: absolute(deployment),
                stdout: stdout.map(absolute),
                stderr: stderr.map(absolute),
            }
        }
        CtlRequest::Start { id } => Request::Start { id },
        CtlRequest::Wait { id } => Request::Wait { id },
        CtlRequest::Kill { id, signal } => Request::Kill { id, signal },
        CtlRequest::Delete { id } => Request::Delete { id },
        CtlRequest::State { id } => Request::State { id },
        CtlRequest::List => Request::List,
        CtlRequest::Stats { id } => Request::Stats { id },
        CtlRequest::Objects => Request::Objects,
        CtlRequest::Shutdown => Request::Shutdown,
    };
    match intravisor::node::Client::new(socket).ask(&request) {
        Ok(answer) => {
            println!("{}", serde_json::to_string_pretty(&answer).expect("an answer is plain data"));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("intravisor: {error}");
            ExitCode::from(1)
        }
    }
}
