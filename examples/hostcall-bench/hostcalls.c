/* hostcalls: makes as many ClockMonotonic hostcalls as its argument says (a hostcall
 * the intravisor answers from its handler, with no side effect), then exits; the
 * lifecycle benchmark (intravisor/benches/lifecycle.rs) times it against zero calls for
 * the hostcall round trip. */
#include <cvm.h>

int main(int argc, char **argv) {
    uint64_t count = 0;
    for (const char *digit = argc > 1 ? argv[1] : "0"; *digit >= '0' && *digit <= '9'; digit++)
        count = count * 10 + (uint64_t)(*digit - '0');
    for (uint64_t call = 0; call < count; call++)
        cvm_hostcall(CVM_HOSTCALL_CLOCK_MONOTONIC, 0, 0, 0, 0, 0);
    return 0;
}
