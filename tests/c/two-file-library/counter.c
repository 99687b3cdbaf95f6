/* counter.c: globals of every kind (initialised, zero, static, pointers to other
 * globals, a 1 MiB zero array), a constructor that sets some of them, atomics updated
 * by several threads, and thread-locals of every TLS model a shared object uses. */
#include <stdatomic.h>
#include <string.h>

#include "two.h"

uint64_t two_state = 0x9e3779b97f4a7c15u;        /* initialised */
static uint64_t history[64];                      /* zero */
static unsigned history_next;                     /* zero, static */
static unsigned char big[1 << 20];                /* 1 MiB of zeros */
static uint64_t *state_pointer = &two_state;      /* a pointer to another global */
static unsigned constructed;                      /* set by the constructor */
static const char *greeting = "two";              /* a pointer to a constant */
static atomic_long atomic_total;                  /* C11 atomics */
static long builtin_total;                        /* GNU atomics */

_Thread_local unsigned long two_thread_steps;     /* TLS: general-dynamic (or a descriptor) */
static _Thread_local unsigned thread_start = 5;   /* TLS with an initialiser: local-dynamic */
__attribute__((tls_model("initial-exec"))) _Thread_local long thread_sum; /* initial-exec */

/* It calls into the other file, so the compiler cannot run it at compile time. */
__attribute__((constructor)) static void two_construct(void) {
    constructed = (unsigned)strlen(greeting) + (unsigned)(mix(21, 0) % 1000);
}

unsigned two_constructed(void) {
    return constructed;
}

uint64_t two_step(uint64_t input) {
    static unsigned calls; /* a static local */
    calls++;
    *state_pointer = mix(*state_pointer ^ input, calls);
    history[history_next++ % 64] = *state_pointer;
    big[(*state_pointer >> 7) % (sizeof big - 1)] += 1;
    return *state_pointer;
}

uint64_t two_digest(void) {
    uint64_t digest = two_state;
    for (unsigned index = 0; index < 64; index++) {
        digest = mix(digest ^ history[index], index);
    }
    return digest;
}

void two_atomic_add(long amount) {
    atomic_fetch_add(&atomic_total, amount);
    __atomic_fetch_add(&builtin_total, amount, __ATOMIC_ACQ_REL);
}

long two_atomic_total(void) {
    return atomic_load(&atomic_total) == __atomic_load_n(&builtin_total, __ATOMIC_ACQUIRE)
               ? atomic_load(&atomic_total)
               : -1;
}

/* The sum of the big array: the steps taken. */
uint64_t two_zero_sum(void) {
    uint64_t sum = 0;
    for (size_t index = 0; index < sizeof big; index++) {
        sum += big[index];
    }
    return sum;
}

void two_thread_add(long amount) {
    two_thread_steps++;
    thread_start++;
    thread_sum += amount;
}

/* What this thread's thread-locals hold. */
uint64_t two_thread_digest(void) {
    return two_thread_steps * 1000003u + thread_start * 1009u + (uint64_t)thread_sum;
}
