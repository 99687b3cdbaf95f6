//! A node (`intravisor node`): containers created, started, waited for, killed and
//! deleted one at a time through its control socket, each a cVM of one long-running
//! intravisor that loads every object once for all of them; refusals at create, with
//! the reason, leaving nothing behind; the node's memory back where it was once its
//! containers are gone.

use std::path::Path;
use std::time::{Duration, Instant};

use intravisor::node::{Phase, Request, Response};
use tests::node::Node;
use tests::{build_examples, root};

const HELLO: &str = "{runtime: hello/build/hello, objects: [hello/build/libcvm.so], isolation: {size: 16M}";

fn hello(argument: &str) -> String {
    hello_with(argument, "")
}

/// The hello cVM with more fields (`, field: value`).
fn hello_with(argument: &str, fields: &str) -> String {
    // Relative paths are the deployment's: the scratch directory's.
    let examples = root().join("examples");
    HELLO.replace("hello/", &format!("{}/hello/", examples.display()))
        + &format!(", args: [{argument}]{fields}}}")
}

fn idle(seconds: u32) -> String {
    let build = root().join("examples/idle/build");
    format!(
        "{{runtime: {0}/idle, objects: [{0}/libcvm.so], args: [{seconds}], isolation: {{size: 16M}}}}",
        build.display()
    )
}

#[test]
fn containers_share_every_object_and_the_node_returns_to_its_baseline() {
    let node = Node::start("node-sharing", &[]);
    let baseline = node.resident();
    let environment = node.environment();
    assert!(
        environment.iter().any(|entry| entry == "GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0"),
        "the node runs without glibc's cache of thread stacks: {environment:?}"
    );
    let mut resident_after = Vec::new();
    for round in 0..2 {
        let ids: Vec<String> = (0..8).map(|index| format!("r{round}c{index}")).collect();
        for (index, id) in ids.iter().enumerate() {
            let created = node.create(id, &hello(&format!("arg{index}"))).unwrap();
            assert_eq!(created.phase, Phase::Created);
        }
        for id in &ids {
            assert_eq!(node.state(Request::Start { id: id.clone() }).phase, Phase::Running);
        }
        let mut copies = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            let stopped = node.state(Request::Wait { id: id.clone() });
            assert_eq!((stopped.phase, stopped.exit_status), (Phase::Stopped, Some(0)), "{stopped:?}");
            let output = node.output(id);
            assert!(output.contains(&format!("hello from {id} with 1 argument")), "{id}: {output}");
            assert!(output.contains(&format!("argument 1: arg{index}")), "{id}: {output}");
            let report = stopped.report.unwrap();
            copies.push(report.objects.iter().map(|object| object.copy).collect::<Vec<_>>());
        }
        assert!(
            copies.iter().all(|copy| copy == &copies[0] && copy.iter().all(Option::is_some)),
            "{copies:?}"
        );
        if round == 0 {
            let objects = node.objects();
            for object in &objects.objects {
                assert_eq!((object.loads, object.users), (1, 8), "{object:?}");
            }
            assert_eq!(objects.objects.len(), 2, "{objects:?}");
        }
        for id in &ids {
            assert_eq!(node.state(Request::Delete { id: id.clone() }).phase, Phase::Stopped);
        }
        assert!(node.containers().is_empty());
        assert_eq!(node.objects().shared_copies_loaded, 0, "every copy is unloaded with its last container");
        resident_after.push(node.resident());
    }
    // The first round leaves the node at its baseline (but for a little heap the
    // allocator cannot give back), the second where the first left it.
    assert!(
        resident_after[0] <= baseline + (1 << 20),
        "the node holds {} bytes after the first round, {baseline} before it",
        resident_after[0]
    );
    assert!(
        resident_after[1] <= resident_after[0] + (512 << 10),
        "the node holds {} bytes after the second round, {} after the first",
        resident_after[1],
        resident_after[0]
    );
}

#[test]
fn a_killed_container_ends_alone_and_states_match() {
    let node = Node::start("node-kill", &[]);
    node.create("victim", &idle(600)).unwrap();
    node.create("bystander", &idle(600)).unwrap();
    node.create("short", &hello("x")).unwrap();
    for id in ["victim", "bystander", "short"] {
        node.state(Request::Start { id: id.to_string() });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !node.output("victim").contains("up, idle") || !node.output("bystander").contains("up, idle") {
        assert!(Instant::now() < deadline, "the idle containers did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let running = node.state(Request::State { id: "victim".to_string() });
    assert_eq!(running.phase, Phase::Running);
    let pid = running.pid.expect("a running container has a process");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    match node.ask(Request::Stats { id: "victim".to_string() }) {
        Ok(Response::Stats(stats)) => {
            assert!(stats.pss.is_some_and(|pss| pss > 0), "{stats:?}");
            assert!(stats.shared_object_bytes > 0 && stats.private_object_bytes == 0, "{stats:?}");
        }
        other => panic!("stats answered {other:?}"),
    }
    let refused = node.ask(Request::Delete { id: "victim".to_string() }).unwrap_err();
    assert!(refused.contains("container `victim` is running: kill it first"), "{refused}");

    node.state(Request::Kill { id: "victim".to_string(), signal: 15 });
    let killed = node.state(Request::Wait { id: "victim".to_string() });
    assert_eq!(killed.exit_status, Some(128 + 15), "{killed:?}");
    let reason = killed.report.unwrap().reason.unwrap();
    assert!(reason.contains("its operator's request (signal 15)"), "{reason}");
    assert_eq!(node.state(Request::Wait { id: "short".to_string() }).exit_status, Some(0));
    let bystander = node.state(Request::State { id: "bystander".to_string() });
    assert_eq!(bystander.phase, Phase::Running, "killing one container ends no other");
    let phases: Vec<(String, Phase)> =
        node.containers().into_iter().map(|state| (state.id, state.phase)).collect();
    assert_eq!(
        phases,
        [
            ("bystander".to_string(), Phase::Running),
            ("short".to_string(), Phase::Stopped),
            ("victim".to_string(), Phase::Stopped)
        ]
    );
    let again = node.ask(Request::Kill { id: "victim".to_string(), signal: 9 }).unwrap_err();
    assert!(again.contains("container `victim` is stopped: it has no cVM to kill"), "{again}");
    node.state(Request::Kill { id: "bystander".to_string(), signal: 9 });
    assert_eq!(node.state(Request::Wait { id: "bystander".to_string() }).exit_status, Some(128 + 9));
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the killed container's process is gone");

    // A created container killed before it starts never runs.
    node.create("unstarted", &hello("y")).unwrap();
    let killed = node.state(Request::Kill { id: "unstarted".to_string(), signal: 15 });
    assert_eq!((killed.phase, killed.exit_status), (Phase::Stopped, Some(143)));
    assert!(node.ask(Request::Start { id: "unstarted".to_string() }).unwrap_err().contains("is stopped"));
    for id in ["victim", "bystander", "short", "unstarted"] {
        node.state(Request::Delete { id: id.to_string() });
    }
    assert_eq!(node.objects().shared_copies_loaded, 0);
}

#[test]
fn a_bad_container_fails_at_create_with_the_reason_and_leaves_nothing() {
    build_examples();
    let tenants = root().join("examples/tenants/build");
    let alpha = format!("alpha={}", tenants.join("alpha.yaml").display());
    let beta = format!("beta={}", tenants.join("beta.yaml").display());
    let node = Node::start("node-refusals", &["--tenant", &alpha, "--tenant", &beta]);
    let garbage = node.directory.join("garbage");
    std::fs::write(&garbage, b"\x7fELF but nothing after it").unwrap();
    let libcvm = root().join("examples/hello/build/libcvm.so");
    let digest = intravisor::objects::ObjectFile::read(&libcvm).unwrap().digest_hex();
    let cases: Vec<(&str, String, &str)> = vec![
        ("../escape", hello("a"), "container id `../escape` is not valid"),
        (
            "garbage",
            format!("{{runtime: {}, isolation: {{size: 16M}}}}", garbage.display()),
            "container `garbage` refused",
        ),
        ("missing", "{runtime: no/such/program, isolation: {size: 16M}}".to_string(), "no/such/program"),
        (
            "undigested",
            hello_with("a", ", tenant: gamma")
                .replace("objects: [", &format!("objects: [{{sha256: {digest}}}, ")),
            "refused by a sharing policy",
        ),
        ("toobig", hello_with("a", ", tenant: alpha").replace("16M", "32M"), "container `toobig` refused"),
    ];
    for (id, cvm, expected) in cases {
        let error = node.create(id, &cvm).unwrap_err();
        assert!(error.contains(expected), "{id}: {error}");
        assert!(node.containers().is_empty(), "{id} left a container behind");
        assert_eq!(node.objects().shared_copies_loaded, 0, "{id} left an object loaded");
    }
    // A deployment of two cVMs, or with policies of its own, is not a container.
    let two = node.directory.join("two.yaml");
    std::fs::write(
        &two,
        format!(
            "cVMs:\n  - {}\n  - {}\n",
            hello("a").replacen("{", "{name: a, ", 1),
            hello("b").replacen("{", "{name: b, ", 1)
        ),
    )
    .unwrap();
    let error = node
        .ask(Request::Create { id: "two".into(), deployment: two, stdout: None, stderr: None })
        .unwrap_err();
    assert!(error.contains("a container's deployment has exactly one cVM"), "{error}");
    let own = node.directory.join("own.yaml");
    std::fs::write(
        &own,
        format!(
            "tenants:\n  alpha: {}\ncVMs:\n  - {}\n",
            tenants.join("alpha.yaml").display(),
            hello("a").replacen("{", "{name: a, ", 1)
        ),
    )
    .unwrap();
    let error = node
        .ask(Request::Create { id: "own".into(), deployment: own, stdout: None, stderr: None })
        .unwrap_err();
    assert!(error.contains("may not name tenant policies"), "{error}");
    // Not a request at all, and an id taken: refused, and the node goes on.
    let mut stream = std::os::unix::net::UnixStream::connect(node.directory.join("node.sock")).unwrap();
    std::io::Write::write_all(&mut stream, b"{\"op\":\"format\",\"disk\":\"/\"}\n").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.contains("not a request") && answer.contains("unknown variant `format`"), "{answer}");
    node.create("fine", &hello("a")).unwrap();
    assert!(node.create("fine", &hello("a")).unwrap_err().contains("container `fine` exists already"));
    node.state(Request::Start { id: "fine".into() });
    assert_eq!(node.state(Request::Wait { id: "fine".into() }).exit_status, Some(0));
}
