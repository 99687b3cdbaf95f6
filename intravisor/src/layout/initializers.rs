//! What the libOS runs in a cVM before its program's `main` and when `main` returns: the
//! objects' initializers and finalizers (`DT_PREINIT_ARRAY`, `DT_INIT`, `DT_INIT_ARRAY`,
//! `DT_FINI_ARRAY`, `DT_FINI`), at their addresses in this cVM, in dependency order:
//! an object is initialized after every object it needs, and finalized before them.
//! They run in the cVM, so their effects land in its own compartment-local storage.

use alloc::vec;
use alloc::vec::Vec;

use abi::Initializer;
use loader::LoadPlan;

/// The initializers and finalizers of `plan`'s objects (loaded at `bases`), in the order
/// they run.
pub(super) fn routines(plan: &LoadPlan, bases: &[u64]) -> (Vec<Initializer>, Vec<Initializer>) {
    let order = dependency_order(plan);
    let function = |base: u64, offset: u64| Initializer { address: base + offset, count: 0 };
    let array = |base: u64, (offset, count): (u64, u64)| Initializer { address: base + offset, count };
    let mut initializers = Vec::new();
    if let (Some(program), Some(&base)) = (plan.objects.first(), bases.first()) {
        initializers.extend(program.initializers.preinit_array.map(|preinit| array(base, preinit)));
    }
    for &index in &order {
        let (routines, base) = (&plan.objects[index].initializers, bases[index]);
        initializers.extend(routines.init.map(|init| function(base, init)));
        initializers.extend(routines.init_array.map(|init| array(base, init)));
    }
    let mut finalizers = Vec::new();
    for &index in order.iter().rev() {
        let (routines, base) = (&plan.objects[index].initializers, bases[index]);
        finalizers.extend(routines.fini_array.map(|fini| array(base, fini)));
        finalizers.extend(routines.fini.map(|fini| function(base, fini)));
    }
    (initializers, finalizers)
}

/// The objects reachable from the program through `DT_NEEDED`, each after every object
/// it needs (a depth-first post-order; the loader refused cycles), the program last.
fn dependency_order(plan: &LoadPlan) -> Vec<usize> {
    let mut order = Vec::with_capacity(plan.objects.len());
    let mut visited = vec![false; plan.objects.len()];
    // (object, how many of its needed objects were visited already)
    let mut stack = vec![(0usize, 0usize)];
    if let Some(seen) = visited.first_mut() {
        *seen = true;
    }
    while let Some((index, next)) = stack.pop() {
        let needed = plan.objects.get(index).map_or(&[][..], |object| &object.needed[..]);
        match needed.get(next) {
            Some(&child) => {
                stack.push((index, next + 1));
                if child < visited.len() && !visited[child] {
                    visited[child] = true;
                    stack.push((child, 0));
                }
            }
            None => order.push(index),
        }
    }
    order
}
