/* workload.c: the code being measured, compiled twice by `cargo xtask bench`: with the
 * cls-pass (its globals become compartment-local and every function that uses one
 * calls __cls_get_addr once, at its entry) and without it.
 *
 * A small function that uses writable globals, called in a loop, two ways: kept out of
 * line (`noinline`: every call looks its globals up again, the worst case), and inlined
 * into the loop as the optimizer does with small functions (the pass runs after
 * inlining, so the loop's function looks them up once). */
int counter;
int step = 3;

__attribute__((noinline)) int bump(int amount) {
    counter += amount * step;
    return counter;
}

static inline int bump_inlined(int amount) {
    counter += amount * step;
    return counter;
}

long run_bumps(long iterations) {
    long total = 0;
    for (long index = 0; index < iterations; index++)
        total += bump((int)(index & 7));
    return total;
}

long run_inlined_bumps(long iterations) {
    long total = 0;
    for (long index = 0; index < iterations; index++)
        total += bump_inlined((int)(index & 7));
    return total;
}
