/* counter: bumps libcounter.so's counters by each of its arguments and reports them.
 * Run alone or beside other cVMs of itself, it prints the same thing: its globals are
 * its own even though the code of libcounter.so is shared. An argument `spin=MS` keeps
 * it running for MS milliseconds first (to watch what happens while it runs). */
#include <cvm.h>

int counter_bump(int amount);
void counter_report(const char *who);

/* The program's own writable global, compartment-local too. */
static int bumps;

static int parse(const char *text) {
    int value = 0;
    while (*text >= '0' && *text <= '9')
        value = value * 10 + (*text++ - '0');
    return value;
}

static int starts_with(const char *text, const char *prefix) {
    while (*prefix && *text == *prefix) {
        text++;
        prefix++;
    }
    return *prefix == 0;
}

int main(int argc, char **argv) {
    int first = 1;
    if (argc > 1 && starts_with(argv[1], "spin=")) {
        uint64_t until = cvm_clock_monotonic() + (uint64_t)parse(argv[1] + 5) * 1000000;
        while (cvm_clock_monotonic() < until)
            ;
        first = 2;
    }
    for (int index = first; index < argc; index++) {
        int amount = parse(argv[index]);
        int total = counter_bump(amount);
        bumps++;
        cvm_printf("bump %d by %d -> %d\n", bumps, amount, total);
    }
    counter_report("final");
    return 0;
}
