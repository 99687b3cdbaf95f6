/* faults: misbehaves in the way its first argument names.
 *
 *   wild     dereferences a wild pointer: the cVM faults and is ended alone;
 *   outside  hands the write hostcall buffers outside its region: each call gets
 *            -CVM_EFAULT back, and the cVM exits normally with that code;
 *   normal   does its work and exits 0.
 */
#include <cvm.h>

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
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
        /* Memory of the intravisor itself: readable on the host, but not this cVM's. */
        const void *intravisor = (const void *)(uintptr_t)cvm_hostcall;
        int64_t first = cvm_write(CVM_STDOUT, (const void *)(uintptr_t)0x1000, 16);
        int64_t second = cvm_write(CVM_STDOUT, (const void *)((uintptr_t)&argc - (1ULL << 40)), 16);
        char buffer[16];
        int64_t third = cvm_write(CVM_STDOUT, buffer, (uint64_t)1 << 40);
        cvm_printf("write(0x1000) = %lld, write(far below the stack) = %lld, "
                   "write(too long) = %lld, code at %p\n",
                   (long long)first, (long long)second, (long long)third, intravisor);
        return (int)-first;
    }
    uint64_t start = cvm_clock_monotonic();
    unsigned long long sum = 0;
    for (unsigned index = 1; index <= 1000; index++)
        sum += index;
    cvm_printf("normal: the sum of 1..1000 is %llu (%s)\n", sum,
               cvm_clock_monotonic() >= start ? "clock ok" : "clock went back");
    return 0;
}
