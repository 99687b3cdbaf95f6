/* steps: takes STEPS steps of libtwo's counter from SEED, with THREADS threads adding
 * to its atomics and their own thread-locals meanwhile, and prints what it reached.
 * Every line is the same for a native build and a cVM build of the same sources. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "two.h"

enum { THREADS = 4, ADDS = 10000 };

static _Thread_local int program_local = 7; /* the program's own TLS: local-exec */
static uint64_t per_thread[THREADS];

static void *adder(void *argument) {
    long amount = (long)(size_t)argument;
    for (int index = 0; index < ADDS; index++) {
        two_atomic_add(amount);
        two_thread_add(amount);
        program_local++;
    }
    /* two_thread_steps from the program: initial-exec into the library's block. */
    per_thread[amount - 1] =
        two_thread_digest() ^ ((uint64_t)program_local << 40) ^ ((uint64_t)two_thread_steps << 20);
    return 0;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], 0, 10) : 1;
    unsigned steps = argc > 2 ? (unsigned)strtoul(argv[2], 0, 10) : 1000;
    printf("constructed %u\n", two_constructed());
    pthread_t threads[THREADS];
    for (long index = 0; index < THREADS; index++) {
        if (pthread_create(&threads[index], 0, adder, (void *)(size_t)(index + 1)) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    }
    uint64_t value = 0;
    for (unsigned step = 0; step < steps; step++) {
        value = two_step(seed + step);
    }
    for (int index = 0; index < THREADS; index++) {
        pthread_join(threads[index], 0);
    }
    printf("seed %llu steps %u last %016llx digest %016llx\n", (unsigned long long)seed, steps,
           (unsigned long long)value, (unsigned long long)two_digest());
    printf("atomic total %ld zero-array sum %llu name %s\n", two_atomic_total(),
           (unsigned long long)two_zero_sum(), mix_name((unsigned)seed));
    for (int index = 0; index < THREADS; index++) {
        printf("thread %d thread-locals %016llx\n", index + 1, (unsigned long long)per_thread[index]);
    }
    printf("main thread-locals %016llx program %d\n", (unsigned long long)two_thread_digest(), program_local);
    return 0;
}
