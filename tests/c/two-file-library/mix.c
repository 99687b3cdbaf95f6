/* mix.c: a mixing function, and names in a table of pointers (relocated data). */
#include "two.h"

static const char *const names[] = {"alpha", "beta", "gamma", "delta"};
static unsigned rounds_mixed; /* written, so compartment-local in a cVM */

uint64_t mix(uint64_t value, unsigned round) {
    rounds_mixed++;
    value ^= value >> 33;
    value *= 0xff51afd7ed558ccdu + round;
    value ^= value >> 29;
    return value;
}

const char *mix_name(unsigned which) {
    return names[(which + rounds_mixed % 2) % 4];
}
