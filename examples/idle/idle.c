/* idle: a hello-sized cVM that says it is up, then waits (futex waits with a timeout,
 * which take no processor time) for as many seconds as its argument says, and exits.
 * The scale benchmark (`cargo xtask bench scale`) starts a thousand of them at once. */
#include <cvm.h>

static volatile uint32_t never;

int main(int argc, char **argv) {
    uint64_t seconds = 0;
    for (const char *digit = argc > 1 ? argv[1] : "0"; *digit >= '0' && *digit <= '9'; digit++)
        seconds = seconds * 10 + (uint64_t)(*digit - '0');
    cvm_printf("up, idle for %llu s\n", (unsigned long long)seconds);
    uint64_t deadline = cvm_clock_monotonic() + seconds * 1000000000ULL;
    for (uint64_t now = cvm_clock_monotonic(); now < deadline; now = cvm_clock_monotonic())
        cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&never, 0, deadline - now, 0, 0);
    return 0;
}
