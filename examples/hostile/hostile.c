/* hostile: a tenant's cVM that attacks the intravisor in the way its first argument
 * names; tests/tests/hostile.rs runs each attack beside a healthy neighbour and checks
 * that only the attacker is ended (or refused) and the neighbour's work is intact.
 *
 *   neighbour       the healthy cVM: keeps a secret in memory, sums 1..1000 and prints
 *                   both; its output must not change whatever the others do;
 *   thread-pointer  hands over thread pointers that would become machine state and
 *                   are not its memory (non-canonical, far away), for itself and for a
 *                   new thread: each is refused, and it prints the answers;
 *   alignment-flag  sets EFLAGS.AC (x86-64), then makes hostcalls: the intravisor must
 *                   not run its own code with alignment checking on;
 *   trap-flag       sets EFLAGS.TF (x86-64), then makes a hostcall: single stepping
 *                   may end this cVM, never the intravisor.
 */
#include <cvm.h>

/* What the neighbour keeps in memory: no other cVM may read it. */
static volatile char secret[64] = "NEIGHBOUR-SECRET-5b1d0c";

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

static int neighbour(void) {
    unsigned long long sum = 0;
    for (unsigned index = 1; index <= 1000; index++)
        sum += index;
    /* Stay alive for a while, so attacks run while the secret is in memory. */
    uint64_t start = cvm_clock_monotonic();
    while (cvm_clock_monotonic() - start < 300000000ULL)
        ;
    cvm_printf("neighbour: %s, the sum of 1..1000 is %llu\n", (const char *)secret, sum);
    return 0;
}

static int thread_pointer(void) {
    unsigned char *stack = cvm_malloc(4096);
    if (!stack)
        return 2;
    uint64_t top = ((uint64_t)(uintptr_t)stack + 4096) & ~15ULL;
    uint64_t code = (uint64_t)(uintptr_t)neighbour;
    int64_t non_canonical = cvm_set_thread_pointer(0x8000000000000000ULL);
    int64_t far = cvm_set_thread_pointer(0x1000);
    int64_t thread = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, code, top, 0, 0x8000000000000000ULL, 0);
    cvm_printf("thread pointer non-canonical %lld, far %lld; thread with a non-canonical one %lld\n",
               (long long)non_canonical, (long long)far, (long long)thread);
    return 0;
}

#if defined(__x86_64__)
static void set_flag(uint64_t flag) {
    __asm__ volatile("pushfq\n\torq %0, (%%rsp)\n\tpopfq" : : "r"(flag) : "memory", "cc");
}
#endif

static int alignment_flag(void) {
#if defined(__x86_64__)
    set_flag(1ULL << 18);
    for (int index = 0; index < 3; index++)
        cvm_printf("hostcall %d with alignment checking on\n", index);
    /* A misaligned load of its own is its own fault. */
    return 0;
#else
    cvm_printf("hostcall 0 with alignment checking on\nhostcall 1 with alignment checking on\n"
               "hostcall 2 with alignment checking on\n");
    return 0;
#endif
}

#if defined(__x86_64__)
/* The intravisor's hostcall entry, from the boot block the intravisor wrote beside the
 * argument vector, just above it ("ORCBOOT1", version 3, then the entry's address). */
static uint64_t hostcall_entry(char **argv) {
    const uint64_t magic = 0x31544f4f4243524fULL;
    const uint64_t *word = (const uint64_t *)((uintptr_t)argv & ~7ULL);
    for (int step = 0; step < 512; step++) {
        if (word[step] == magic && word[step + 1] == 3)
            return word[step + 2];
    }
    return 0;
}
#endif

static int trap_flag(char **argv) {
#if defined(__x86_64__)
    uint64_t entry = hostcall_entry(argv);
    if (!entry) {
        cvm_printf("no boot block found\n");
        return 2;
    }
    /* TF set by popfq takes effect after the next instruction: the call itself, so the
     * intravisor's hostcall entry is where single stepping starts. */
    register uint64_t number __asm__("rdi") = CVM_HOSTCALL_CLOCK_MONOTONIC;
    __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tcall *%1"
                     : "+r"(number)
                     : "r"(entry)
                     : "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
    cvm_printf("single stepped through a hostcall\n");
    return 0;
#else
    (void)argv;
    __builtin_trap();
#endif
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "neighbour";
    if (same(mode, "neighbour"))
        return neighbour();
    if (same(mode, "thread-pointer"))
        return thread_pointer();
    if (same(mode, "alignment-flag"))
        return alignment_flag();
    if (same(mode, "trap-flag"))
        return trap_flag(argv);
    cvm_printf("unknown attack %s\n", mode);
    return 2;
}
