//! The object store through the intravisor's library interface: shared objects stay
//! mapped while a cVM uses them and are unmapped when their last user is torn down.

use intravisor::config;
use intravisor::cvm::OutputSink;
use intravisor::report::Status;
use intravisor::runner::Intravisor;
use tests::{build_examples, root};

#[test]
fn shared_objects_are_unmapped_when_their_last_user_ends() {
    build_examples();
    let file = root().join("examples/orc-counter/deploy.yaml");
    let deployment = config::load(&file).expect("the example deployment is valid");
    let intravisor =
        Intravisor::for_deployment(&deployment, OutputSink::new(Box::new(std::io::sink()))).unwrap();
    assert_eq!(intravisor.shared_objects_loaded(), 0);
    let report = intravisor.run(&deployment, intravisor::policies::load(&deployment).unwrap());
    assert!(report.cvms.iter().all(|cvm| cvm.status == Status::Exited), "{report:?}");
    assert_eq!(intravisor.shared_objects_loaded(), 0, "every shared copy is gone with its last user");
    assert_eq!(intravisor.plans_made(), 1, "four cVMs of the same objects are planned once");
    // The same intravisor runs the deployment again and loads everything again once.
    let again = intravisor.run(&deployment, intravisor::policies::load(&deployment).unwrap());
    assert!(again.objects.iter().all(|object| object.loads == 1 && object.users == 4), "{:?}", again.objects);
    assert_eq!(intravisor.plans_made(), 2, "the plan is not kept from one run to the next");
    assert_eq!(intravisor.shared_objects_loaded(), 0);
}
