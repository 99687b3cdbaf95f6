/* libother.so: a second shared library whose global libcounter.so uses through extern. */
#include <cvm.h>

int other_total = 100;

int other_add(int amount) {
    other_total += amount;
    return other_total;
}
