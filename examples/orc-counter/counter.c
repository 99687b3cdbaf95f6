/* counter: bumps libcounter.so's counters by each of its arguments and reports them.
 * Run alone or beside other cVMs of itself, it prints the same thing: its globals are
 * its own even though the code of libcounter.so is shared. */
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

int main(int argc, char **argv) {
    for (int index = 1; index < argc; index++) {
        int amount = parse(argv[index]);
        int total = counter_bump(amount);
        bumps++;
        cvm_printf("bump %d by %d -> %d\n", bumps, amount, total);
    }
    counter_report("final");
    return 0;
}
