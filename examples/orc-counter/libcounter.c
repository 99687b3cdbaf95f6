/* libcounter.so: an ORC object holding every kind of writable global, built with the
 * cls-pass so that one copy of its code serves every cVM while each cVM keeps its own
 * globals. */
#include <cvm.h>

/* A zero-initialised int. */
int zero_counter;

/* An initialised array. */
int history[4] = {1, 2, 3, 4};

/* A global defined in another shared library, used through extern. */
extern int other_total;
int other_add(int amount);

/* A function-local static. */
static int step(int amount) {
    static int calls;
    calls++;
    return amount * calls;
}

/* A struct holding pointers to other globals and to a function. */
struct registry {
    int *counter;
    int *history;
    int *other;
    int (*step)(int);
    const char *label;
};
struct registry registry = {&zero_counter, history, &other_total, step, "counter"};

/* A constant table of pointers to writable globals (the pass makes it per-cVM too). */
int *const watched[2] = {&zero_counter, &history[0]};

int counter_bump(int amount) {
    *registry.counter += registry.step(amount);
    registry.history[*registry.counter % 4] += amount;
    other_add(amount);
    return zero_counter;
}

void counter_report(const char *who) {
    cvm_printf("%s: %s=%d history=[%d %d %d %d] other=%d watched=%d/%d consistent=%s\n", who,
               registry.label, zero_counter, history[0], history[1], history[2], history[3],
               *registry.other, *watched[0], *watched[1],
               registry.counter == &zero_counter && registry.history == history &&
                       registry.other == &other_total && watched[0] == &zero_counter
                   ? "yes"
                   : "no");
}
