/* libinit: a shared library that sets itself up in constructors (two, run in priority
 * order) and says goodbye in a destructor. Its globals are compartment-local: each cVM
 * that uses the one shared copy runs the constructors on its own copy. */
#include <cvm.h>

int ready;
static int steps;

__attribute__((constructor(101))) static void first(void) {
    ready = 40;
    steps++;
}

__attribute__((constructor(102))) static void second(void) {
    ready += 2;
    steps++;
}

__attribute__((destructor)) static void farewell(void) {
    cvm_printf("libinit: finalized with %d after %d constructors\n", ready, steps);
}

int library_value(void) {
    return ready;
}

void library_add(int amount) {
    ready += amount;
}
