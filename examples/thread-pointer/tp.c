/* tp: sets its C library's thread pointer, as musl's startup does, and checks that the
 * intravisor keeps it (the fs base on x86-64, TPIDR_EL0 on AArch64, switched with the
 * intravisor's own on every hostcall).
 *
 *   keep    points the thread pointer at a block whose first word holds the block's
 *           address (like a C library's thread control block), then reads that word
 *           through %fs:0 around 100 hostcalls;
 *   fault   sets it, then faults: the intravisor must take its own thread pointer back
 *           to report the fault, and the other cVMs run on.
 *
 * Where the platform does not switch the thread pointer yet, it says so and exits 0.
 */
#include <cvm.h>

static uint64_t control_block[4];

static uint64_t first_word_through_thread_pointer(void) {
    uint64_t word;
#if defined(__x86_64__)
    __asm__ volatile("mov %%fs:0, %0" : "=r"(word));
#else
    __asm__ volatile("mrs %0, tpidr_el0\n\tldr %0, [%0]" : "=r"(word));
#endif
    return word;
}

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "keep";
    control_block[0] = (uint64_t)(uintptr_t)control_block;
    int64_t status = cvm_set_thread_pointer((uint64_t)(uintptr_t)control_block);
    if (status == -CVM_ENOSYS) {
        cvm_printf("the thread pointer is not switched on this platform\n");
        return 0;
    }
    if (status != 0) {
        cvm_printf("set_thread_pointer failed: %lld\n", (long long)status);
        return 2;
    }
    if (same(mode, "fault")) {
        cvm_printf("thread pointer set; now writing through a wild pointer\n");
        *(volatile int *)(uintptr_t)0xdead0000 = 1;
        return 3;
    }
    unsigned kept = 0;
    for (int call = 0; call < 100; call++) {
        cvm_clock_monotonic();
        kept += first_word_through_thread_pointer() == (uint64_t)(uintptr_t)control_block;
    }
    cvm_printf("thread pointer kept across %u of 100 hostcalls\n", kept);
    return kept == 100 ? 0 : 1;
}
