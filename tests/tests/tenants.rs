//! Tenant sharing policies end to end: who shares which loaded copy, what each tenant
//! sees, every refusal path, and revocation.

use std::path::{Path, PathBuf};
use std::process::Command;

use tests::{intravisor, root, run_deployment, scratch, Run};

/// The orc-counter objects, by absolute path.
fn objects() -> String {
    let build = root().join("examples/orc-counter/build");
    format!(
        "[{}, {}, {}]",
        build.join("libcounter.so").display(),
        build.join("libother.so").display(),
        build.join("libcvm.so").display()
    )
}

fn counter() -> PathBuf {
    root().join("examples/orc-counter/build/counter")
}

fn cvm(name: &str, tenant: &str, objects: &str, args: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    tenant: {tenant}\n    runtime: {}\n    objects: {objects}\n    args: [{args}]\n    isolation: {{ size: 8M }}\n{extra}",
        counter().display()
    )
}

/// A deployment in a scratch directory with alpha's and beta's policies from the
/// tenants example and the given cVMs.
fn deployment(name: &str, cvms: &str) -> PathBuf {
    tests::build_examples();
    let directory = scratch(name);
    let policies = root().join("examples/tenants/build");
    let text = format!(
        "tenants:\n  alpha: {}\n  beta: {}\ncontrol: control\ncVMs:\n{cvms}",
        policies.join("alpha.yaml").display(),
        policies.join("beta.yaml").display()
    );
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn copy_of<'a>(run: &'a Run, cvm: &str, object: &str) -> &'a serde_json::Value {
    run.cvm(cvm)["objects"].as_array().unwrap().iter().find(|used| used["name"] == object).unwrap()
}

fn tenant<'a>(run: &'a Run, name: &str) -> &'a serde_json::Value {
    run.report.as_ref().unwrap()["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tenant| tenant["name"] == name)
        .unwrap()
}

#[test]
fn publishers_share_with_whom_they_publish_to_and_others_get_their_own_copy() {
    let file = root().join("examples/tenants/deploy.yaml");
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    for object in ["counter", "libcounter.so", "libother.so", "libcvm.so"] {
        let alpha = copy_of(&run, "alpha1", object);
        assert_eq!(copy_of(&run, "alpha2", object)["copy"], alpha["copy"]);
        assert_eq!(copy_of(&run, "beta1", object)["copy"], alpha["copy"], "beta shares alpha's {object}");
        assert_eq!(alpha["owner"], "alpha");
        let gamma = copy_of(&run, "gamma1", object);
        assert_ne!(gamma["copy"], alpha["copy"], "gamma has its own copy of the identical {object}");
        assert_eq!(gamma["sha256"], alpha["sha256"]);
        assert_eq!(gamma["owner"], "gamma");
    }
    let objects = run.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    assert!(objects.iter().all(|object| object["loads"] == 2 && object["users"] == 4), "{objects:?}");
    assert_eq!(
        run.lines_of("beta1").last().unwrap(),
        &"final: counter=10 history=[1 2 13 4] other=110 watched=10/1 consistent=yes"
    );

    let beta = tenant(&run, "beta");
    for object in beta["shared_objects"].as_array().unwrap() {
        assert_eq!(object["shared_with"], serde_json::json!(["alpha"]));
        assert_eq!(object["users"], 3);
        assert_eq!(object["proportional_bytes"], object["bytes"].as_u64().unwrap() / 3);
    }
    assert!(beta["saving_bytes"].as_u64().unwrap() > 0);
    let gamma = tenant(&run, "gamma");
    assert!(gamma["shared_objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|object| object["shared_with"] == serde_json::json!([])));
    assert_eq!(gamma["saving_bytes"], 0);

    // The same view, as text, from the command line.
    let report = scratch("tenants-report").join("report.json");
    std::fs::write(&report, serde_json::to_string(run.report.as_ref().unwrap()).unwrap()).unwrap();
    let shown =
        Command::new(intravisor()).arg("report").arg(&report).args(["--tenant", "beta"]).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success());
    assert!(
        text.starts_with("tenant beta\n") && text.contains("shared with alpha") && text.contains("saving"),
        "{text}"
    );
    assert!(!text.contains("tenant gamma"));
}

fn digest_of(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&output.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_tenant_asking_for_an_object_not_published_to_it_is_refused() {
    let library = root().join("examples/orc-counter/build/libcounter.so");
    let digest = digest_of(&library);
    let build = root().join("examples/orc-counter/build");
    let by_digest = format!(
        "[{{sha256: {digest}}}, {}, {}]",
        build.join("libother.so").display(),
        build.join("libcvm.so").display()
    );
    let cvms = cvm("alpha1", "alpha", &objects(), "1", "") + &cvm("gamma1", "gamma", &by_digest, "2", "");
    let run = run_deployment(&deployment("tenants-request", &cvms));
    assert_eq!(run.code, Some(1));
    let gamma = run.cvm("gamma1");
    assert_eq!(gamma["status"], "refused");
    let reason = gamma["reason"].as_str().unwrap();
    for needed in ["gamma", "libcounter.so", &digest[..16], "alpha", "[beta]"] {
        assert!(reason.contains(needed), "the refusal names `{needed}`: {reason}");
    }
    assert_eq!(run.cvm("alpha1")["status"], "exited", "the others are unaffected");
    // beta, to whom alpha publishes it, may ask for it by digest: the object is the one
    // alpha's cVM names.
    let cvms = cvm("alpha1", "alpha", &objects(), "1", "") + &cvm("beta1", "beta", &by_digest, "3", "");
    let run = run_deployment(&deployment("tenants-request-accepted", &cvms));
    assert_eq!(run.cvm("beta1")["status"], "exited", "{}", run.stderr);
    assert_eq!(copy_of(&run, "beta1", "libcounter.so")["owner"], "alpha");
}

#[test]
fn a_tampered_object_is_refused() {
    let directory = scratch("tenants-tampered-object");
    let mut bytes = std::fs::read(root().join("examples/orc-counter/build/libcounter.so")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    let tampered = directory.join("libcounter.so");
    std::fs::write(&tampered, &bytes).unwrap();
    let build = root().join("examples/orc-counter/build");
    let tampered_objects = format!(
        "[{}, {}, {}]",
        tampered.display(),
        build.join("libother.so").display(),
        build.join("libcvm.so").display()
    );
    let cvms =
        cvm("alpha1", "alpha", &tampered_objects, "1", "") + &cvm("beta1", "beta", &objects(), "2", "");
    let run = run_deployment(&deployment("tenants-tampered", &cvms));
    let alpha = run.cvm("alpha1");
    assert_eq!(alpha["status"], "refused");
    let reason = alpha["reason"].as_str().unwrap();
    let published = digest_of(&build.join("libcounter.so"));
    let actual = digest_of(&tampered);
    for needed in ["alpha", "libcounter.so", &published[..16], &actual[..16]] {
        assert!(reason.contains(needed), "the refusal names `{needed}`: {reason}");
    }
    assert_eq!(run.cvm("beta1")["status"], "exited");
}

#[test]
fn a_tenant_over_its_limits_gets_the_extra_cvm_refused() {
    let cvms = cvm("alpha1", "alpha", &objects(), "spin=300, 1", "")
        + &cvm("alpha2", "alpha", &objects(), "2", "")
        + &cvm("alpha3", "alpha", &objects(), "3", "")
        + &cvm("beta1", "beta", &objects(), "4", "");
    let run = run_deployment(&deployment("tenants-limit", &cvms));
    assert_eq!(run.code, Some(1));
    let refused = run.cvm("alpha3");
    assert_eq!(refused["status"], "refused");
    let reason = refused["reason"].as_str().unwrap();
    assert!(reason.contains("alpha") && reason.contains("limits.cvms") && reason.contains('2'), "{reason}");
    for name in ["alpha1", "alpha2", "beta1"] {
        assert_eq!(run.cvm(name)["status"], "exited", "{name} runs");
    }
    // A region larger than alpha's memory_per_cvm (8M) is refused too.
    let big = cvm("alpha-big", "alpha", &objects(), "1", "").replace("size: 8M", "size: 16M");
    let run = run_deployment(&deployment("tenants-memory", &big));
    let reason = run.cvm("alpha-big")["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("memory_per_cvm"), "{reason}");
}

#[test]
fn refused_cvms_leave_nothing_mapped() {
    use intravisor::cvm::OutputSink;
    use intravisor::runner::Intravisor;
    let cvms = cvm("alpha1", "alpha", &objects(), "1", "")
        + &cvm("alpha2", "alpha", &objects(), "2", "")
        + &cvm("alpha3", "alpha", &objects(), "3", "");
    let file = deployment("tenants-nothing-left", &cvms);
    let deployment = intravisor::config::load(&file).unwrap();
    let policies = intravisor::policies::load(&deployment).unwrap();
    let runner = Intravisor::for_deployment(&deployment, OutputSink::new(Box::new(std::io::sink()))).unwrap();
    let report = runner.run(&deployment, policies);
    assert_eq!(report.cvms.iter().filter(|cvm| cvm.status == intravisor::report::Status::Refused).count(), 1);
    assert_eq!(runner.shared_objects_loaded(), 0, "every copy is unmapped once its users are gone");
}

#[test]
fn a_revoked_publication_is_not_shared_with_cvms_started_afterwards() {
    // alpha1 runs for 1.5 s and the deployment waits 1 s before preparing beta1: the
    // revocation made meanwhile applies to beta1, not to the running alpha1.
    let cvms = cvm("alpha1", "alpha", &objects(), "spin=1500, 1", "    wait: 1\n")
        + &cvm("beta1", "beta", &objects(), "2", "");
    let file = deployment("tenants-revoke", &cvms);
    let report = file.with_file_name("report.json");
    let mut running =
        Command::new(intravisor()).arg("run").arg(&file).arg("--report").arg(&report).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let revoke = Command::new(intravisor())
        .arg("revoke")
        .arg(&file)
        .args(["--tenant", "alpha", "--object", "libcounter.so"])
        .output()
        .unwrap();
    assert!(revoke.status.success(), "{}", String::from_utf8_lossy(&revoke.stderr));
    assert!(String::from_utf8_lossy(&revoke.stdout)
        .starts_with("revoked: tenant `alpha` no longer shares sha256 "));
    assert!(running.wait().unwrap().success());
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let used = |cvm: &str, object: &str| {
        report["cvms"].as_array().unwrap().iter().find(|entry| entry["name"] == cvm).unwrap()["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|used| used["name"] == object)
            .unwrap()
            .clone()
    };
    assert_eq!(used("alpha1", "libcounter.so")["owner"], "alpha", "the running cVM kept its copy");
    assert_eq!(used("beta1", "libcounter.so")["owner"], "beta", "the later cVM got its own");
    assert_ne!(used("beta1", "libcounter.so")["copy"], used("alpha1", "libcounter.so")["copy"]);
    assert_eq!(
        used("beta1", "libother.so")["copy"],
        used("alpha1", "libother.so")["copy"],
        "what is not revoked is still shared"
    );
    // Revoking something alpha does not publish is an error that says so.
    let wrong = Command::new(intravisor())
        .arg("revoke")
        .arg(&file)
        .args(["--tenant", "alpha", "--object", "nothing.so"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not publish `nothing.so`"));
}
