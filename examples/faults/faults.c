/* faults: misbehaves in the way its first argument names.
 *
 *   wild      dereferences a wild pointer: the cVM faults and is ended alone;
 *   outside   hands the write hostcall buffers outside its region: each call gets
 *             -CVM_EFAULT back, and the cVM exits normally with that code;
 *   normal    does its work (heap, clock, console) and exits 0;
 *   trap      executes a trapping instruction (SIGILL on x86-64, SIGTRAP or SIGILL on
 *             AArch64);
 *   divide    divides by zero (SIGFPE on x86-64; AArch64 gives 0 and does not trap);
 *   overflow  recurses until its stack runs into the guard page;
 *   code      writes into its own code;
 *   flood     makes a thousand refused and unknown hostcalls, then exits 0;
 *   threads   asks for threads and futex waits with addresses it may not hand over
 *             (code in its heap, a stack outside its region or misaligned, words outside
 *             it or misaligned): each is refused; then a futex wait that times out;
 *   data      calls into its own heap, where it copied a return instruction: the heap is
 *             never executable (and on Morello it lies outside the cVM's PCC);
 *   edge      reads the one byte just past the end of its region: on Morello a
 *             capability bounds fault (its DDC ends there); elsewhere whatever the next
 *             page holds (the host does not bounds-check cVM code, ARCHITECTURE §5).
 */
#include <cvm.h>

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

/* Recurses until the stack runs out (the limit is never reached); the volatile frame
 * keeps the compiler from turning it into a loop. */
static unsigned long recurse(unsigned long depth) {
    volatile unsigned char frame[256];
    frame[0] = (unsigned char)depth;
    if (depth == ~0UL)
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "normal";
    if (same(mode, "wild")) {
        volatile int *wild = (volatile int *)(uintptr_t)0xdead0000;
        cvm_printf("writing through the wild pointer %p\n", (void *)wild);
        *wild = 42;
        cvm_printf("still alive: this line must never appear\n");
        return 0;
    }
    if (same(mode, "outside")) {
        int64_t first = cvm_write(CVM_STDOUT, (const void *)(uintptr_t)0x1000, 16);
        int64_t second = cvm_write(CVM_STDOUT, (const void *)((uintptr_t)&argc - (1ULL << 40)), 16);
        char buffer[16];
        int64_t third = cvm_write(CVM_STDOUT, buffer, (uint64_t)1 << 40);
        cvm_printf("write(0x1000) = %lld, write(far below the stack) = %lld, write(too long) = %lld\n",
                   (long long)first, (long long)second, (long long)third);
        return (int)-first;
    }
    if (same(mode, "trap"))
        __builtin_trap();
    if (same(mode, "divide")) {
        volatile int seven = 7, zero = 0;
        cvm_printf("7 / 0 = %d\n", seven / zero);
        return 0;
    }
    if (same(mode, "overflow"))
        return (int)recurse(1);
    if (same(mode, "code")) {
        volatile unsigned char *code = (volatile unsigned char *)(uintptr_t)main;
        *code = 0xc3;
        return 0;
    }
    if (same(mode, "data")) {
#if defined(__aarch64__)
        static const unsigned char code[] = {0xc0, 0x03, 0x5f, 0xd6}; /* ret */
#else
        static const unsigned char code[] = {0xc3}; /* ret */
#endif
        unsigned char *heap = cvm_malloc(sizeof code);
        if (!heap)
            return 2;
        for (unsigned index = 0; index < sizeof code; index++)
            heap[index] = code[index];
        cvm_printf("calling the return instruction copied to the heap at %p\n", (void *)heap);
        ((void (*)(void))(uintptr_t)heap)();
        cvm_printf("returned from the heap: this line must never appear\n");
        return 0;
    }
    if (same(mode, "edge")) {
        uint64_t base, size;
        cvm_region(&base, &size);
        volatile const unsigned char *end = (volatile const unsigned char *)(uintptr_t)(base + size);
        cvm_printf("region %p + 0x%llx: reading the byte at %p\n", (void *)(uintptr_t)base,
                   (unsigned long long)size, (void *)end);
        unsigned char byte = *end;
        cvm_printf("read %u: the region's end did not stop this cVM\n", byte);
        return 0;
    }
    if (same(mode, "threads")) {
        /* Hostile thread and futex hostcalls: each is refused, none ends the cVM. */
        static volatile uint32_t word;
        unsigned char *stack = cvm_malloc(4096);
        if (!stack)
            return 2;
        uint64_t top = ((uint64_t)(uintptr_t)stack + 4096) & ~15ULL;
        uint64_t code = (uint64_t)(uintptr_t)main;
        int64_t data_entry = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, (uint64_t)(uintptr_t)stack, top, 0, 0, 0);
        int64_t odd_stack = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, code, top - 8, 0, 0, 0);
        int64_t far_stack = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, code, 0x2000, 0, 0, 0);
        int64_t far_clear = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, code, top, 0, 0, 0x1000);
        int64_t odd_word = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&word + 2, 0, 0, 0, 0);
        int64_t far_word = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, 0x1000, 0, 0, 0, 0);
        int64_t changed = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&word, 1, ~0ULL, 0, 0);
        int64_t timed = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&word, 0, 1000000, 0, 0);
        int64_t woken = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAKE, (uint64_t)(uintptr_t)&word, 1, 0, 0, 0);
        cvm_printf("thread at data %lld, odd stack %lld, far stack %lld, far clear word %lld\n",
                   (long long)data_entry, (long long)odd_stack, (long long)far_stack, (long long)far_clear);
        cvm_printf("wait on odd word %lld, far word %lld, changed word %lld, timed %lld; wake %lld\n",
                   (long long)odd_word, (long long)far_word, (long long)changed, (long long)timed,
                   (long long)woken);
        return 0;
    }
    if (same(mode, "flood")) {
        int refused = 0;
        for (int index = 0; index < 1000; index++) {
            refused += cvm_write(CVM_STDOUT, (const void *)(uintptr_t)0x1000, 1) == -CVM_EFAULT;
            refused += cvm_hostcall(9999, 0, 0, 0, 0, 0) == -CVM_ENOSYS;
        }
        cvm_printf("refused %d hostcalls\n", refused);
        return 0;
    }
    uint64_t start = cvm_clock_monotonic();
    unsigned *numbers = cvm_malloc(1000 * sizeof *numbers);
    if (!numbers)
        return 2;
    for (unsigned index = 0; index < 1000; index++)
        numbers[index] = index + 1;
    unsigned long long sum = 0;
    for (unsigned index = 0; index < 1000; index++)
        sum += numbers[index];
    cvm_free(numbers);
    cvm_printf("normal: the sum of 1..1000 is %llu (%s)\n", sum,
               cvm_clock_monotonic() >= start ? "clock ok" : "clock went back");
    return 0;
}
