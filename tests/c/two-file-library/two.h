/* The interface of libtwo.so: a counter advanced by a mixing function, from several
 * threads at once, and per-thread counters in thread-local storage. */
#include <stdint.h>

/* counter.c */
uint64_t two_step(uint64_t input);
uint64_t two_digest(void);
unsigned two_constructed(void);
long two_atomic_total(void);
void two_atomic_add(long amount);
uint64_t two_zero_sum(void);
void two_thread_add(long amount);
uint64_t two_thread_digest(void);
extern _Thread_local unsigned long two_thread_steps;

/* mix.c */
uint64_t mix(uint64_t value, unsigned round);
const char *mix_name(unsigned which);
