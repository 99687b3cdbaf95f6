/* harness.c: sets up a compartment-local storage table the way the intravisor does
 * (abi::ClsTable, found through the gs base), then times and counts the workload and
 * the raw `__cls_get_addr` lookup. Never compiled with the cls-pass: the addresses it
 * takes are the templates'.
 *
 * Usage: harness ITERATIONS LOOKUPS [inlined]
 * prints "ns_per_bump ns_per_lookup checksum"; with `inlined`, the loop of inlined calls. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern int counter, step;
long run_bumps(long iterations);
long run_inlined_bumps(long iterations);
void *__cls_get_addr(const void *template);

struct table {
    uint64_t self_address, slot_base, slot_shift, slot_count;
    struct { uint64_t template_start, template_size, instance_delta; } slots[4];
};

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 100000000;
    long lookups = argc > 2 ? atol(argv[2]) : 100000000;
    /* One instance of the pages holding the two globals' templates. */
    uintptr_t low = (uintptr_t)(&counter < &step ? &counter : &step);
    uintptr_t high = (uintptr_t)(&counter < &step ? &step : &counter) + sizeof(int);
    uintptr_t start = low & ~(uintptr_t)4095;
    uintptr_t size = ((high + 4095) & ~(uintptr_t)4095) - start;
    unsigned char *instance = aligned_alloc(4096, size);
    if (!instance)
        return 1;
    memcpy(instance, (void *)start, size);
    static struct table table;
    table.self_address = (uint64_t)(uintptr_t)&table;
    table.slot_shift = 26;
    table.slot_base = (start >> 26) << 26;
    table.slot_count = 1;
    table.slots[0].template_start = start;
    table.slots[0].template_size = size;
    table.slots[0].instance_delta = (uint64_t)(uintptr_t)instance - start;
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, &table) != 0) {
        perror("arch_prctl(ARCH_SET_GS)");
        return 1;
    }

    int inlined = argc > 3 && strcmp(argv[3], "inlined") == 0;
    double before = seconds();
    long total = inlined ? run_inlined_bumps(iterations) : run_bumps(iterations);
    double bumps = (seconds() - before) / (double)iterations * 1e9;

    volatile uintptr_t sink = 0;
    before = seconds();
    for (long index = 0; index < lookups; index++)
        sink += (uintptr_t)__cls_get_addr((const void *)(start + (uintptr_t)(index & 1023)));
    double lookup = (seconds() - before) / (double)lookups * 1e9;
    printf("%.3f %.3f %ld\n", bumps, lookup, total);
    return 0;
}
