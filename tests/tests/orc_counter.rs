//! ORC objects end to end: libcounter.so (every kind of writable global, built with the
//! cls-pass) is loaded once and shared by four cVMs, and each cVM prints exactly what
//! the same program prints when it runs alone; writes into what is shared fault.

use tests::{root, run_deployment, scratch};

const OBJECTS: &str = "[build/libcounter.so, build/libother.so, build/libcvm.so]";

/// The arguments each cVM of examples/orc-counter/deploy.yaml is given.
const CVMS: [(&str, &[&str]); 4] = [
    ("counter1", &["1", "2", "3"]),
    ("counter2", &["10"]),
    ("counter3", &["5", "5", "5", "5"]),
    ("counter4", &["7", "1"]),
];

#[test]
fn four_cvms_share_one_copy_and_each_prints_what_it_prints_alone() {
    let example = root().join("examples/orc-counter");
    let together = run_deployment(&example.join("deploy.yaml"));
    assert_eq!(together.code, Some(0), "stderr: {}", together.stderr);

    let objects = together.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    for name in ["counter", "libcounter.so", "libother.so", "libcvm.so"] {
        let object = objects.iter().find(|object| object["name"] == name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(object["loads"], 1, "{name} is loaded once: {object}");
        assert_eq!(object["users"], 4, "{name} has four users: {object}");
        assert!(object["shared_bytes"].as_u64().unwrap() > 0);
    }

    let directory = scratch("orc-counter-alone");
    for (name, arguments) in CVMS {
        let alone = directory.join(format!("{name}.yaml"));
        let deployment = format!(
            "cVMs:\n  - name: {name}\n    runtime: {}\n    objects: {}\n    args: [{}]\n    isolation: {{ size: 8M }}\n",
            example.join("build/counter").display(),
            OBJECTS.replace("build/", &format!("{}/", example.join("build").display())),
            arguments.join(", ")
        );
        std::fs::write(&alone, deployment).unwrap();
        let run = run_deployment(&alone);
        assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
        let expected = run.lines_of(name);
        assert_eq!(together.lines_of(name), expected, "{name} prints the same beside the others as alone");
        assert_eq!(expected.len(), arguments.len() + 1);
        assert!(expected.last().unwrap().ends_with("consistent=yes"), "{expected:?}");
        assert!(together.cvm(name)["cls_bytes"].as_u64().unwrap() > 0);
    }
    // The sums differ from cVM to cVM, so no cVM saw another's globals.
    assert_eq!(
        together.lines_of("counter2"),
        ["bump 1 by 10 -> 10", "final: counter=10 history=[1 2 13 4] other=110 watched=10/1 consistent=yes"]
    );
}

#[test]
fn writing_into_shared_text_or_templates_faults_alone() {
    let run = run_deployment(&root().join("examples/orc-counter/faults.yaml"));
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    for (name, what) in [("text-writer", "shared text"), ("template-writer", "the shared template")] {
        let cvm = run.cvm(name);
        assert_eq!(cvm["status"], "faulted", "{name}");
        assert_eq!(cvm["fault"]["cause"], "segmentation fault: access not permitted");
        let lines = run.lines_of(name);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let address = lines[0].rsplit(" at ").next().unwrap();
        assert!(lines[0].starts_with(&format!("writing into {what} at ")), "{lines:?}");
        assert_eq!(
            format!("{:#x}", cvm["fault"]["address"].as_u64().unwrap()),
            address,
            "the fault is at that address"
        );
    }
    for name in ["counter1", "counter2"] {
        assert_eq!(run.cvm(name)["status"], "exited");
        assert!(run.lines_of(name).last().unwrap().ends_with("consistent=yes"));
    }
    let objects = run.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    let library = objects.iter().find(|object| object["name"] == "libcounter.so").unwrap();
    assert_eq!(library["loads"], 1, "the faulting cVMs shared the same copy: {library}");
    assert_eq!(library["users"], 4);
}

/// examples/orc-counter/deploy.yaml with its objects taken from `build` and any renames.
fn deployment_from(build: &str, renames: &[(&str, &str)]) -> String {
    let example = root().join("examples/orc-counter");
    let mut text = std::fs::read_to_string(example.join("deploy.yaml")).unwrap();
    text = text.replace("build/", &format!("{}/", example.join(build).display()));
    for (from, to) in renames {
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn the_example_built_at_o0_behaves_as_at_o2() {
    let optimised = run_deployment(&root().join("examples/orc-counter/deploy.yaml"));
    let file = scratch("orc-counter-o0").join("deploy.yaml");
    std::fs::write(&file, deployment_from("build-O0", &[])).unwrap();
    let unoptimised = run_deployment(&file);
    assert_eq!(unoptimised.code, Some(0), "stderr: {}", unoptimised.stderr);
    for (name, _) in CVMS {
        assert_eq!(unoptimised.lines_of(name), optimised.lines_of(name), "{name} at -O0");
    }
    let objects = unoptimised.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    assert!(objects.iter().all(|object| object["loads"] == 1), "{objects:?}");
}

#[test]
fn byte_identical_objects_under_other_names_are_loaded_once() {
    let directory = scratch("orc-counter-renamed");
    let original = root().join("examples/orc-counter/build/libcounter.so");
    let renamed = directory.join("libcounter-copy.so");
    std::fs::copy(&original, &renamed).unwrap();
    // counter3 and counter4 name the copy instead of the original.
    let original_path = original.display().to_string();
    let mut text = deployment_from("build", &[]);
    let second_half = text.find("- name: counter3").unwrap();
    let tail = text.split_off(second_half).replace(&original_path, &renamed.display().to_string());
    text.push_str(&tail);
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let objects = run.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    let copies: Vec<_> =
        objects.iter().filter(|object| object["name"].as_str().unwrap().starts_with("libcounter")).collect();
    assert_eq!(copies.len(), 2, "both names are listed: {copies:?}");
    assert_eq!(copies[0]["sha256"], copies[1]["sha256"]);
    for copy in copies {
        assert_eq!(copy["loads"], 1, "one copy for both names: {copy}");
        assert_eq!(copy["users"], 4);
    }
}
