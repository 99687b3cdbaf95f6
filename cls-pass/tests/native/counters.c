/* Two instances keep separate counters; pointers stored in CLS data (by relocation or
 * at run time) point into the right instance; function pointers in CLS structs still
 * work; constants that point at CLS data follow the instance. Built with cls-pass and
 * driven by driver.c, which is built without it: an instrumented function looks its
 * globals up once, on entry, so the instance only changes between calls (as a cVM
 * only changes when the intravisor enters another one). Each check prints the failed
 * condition and counts it. With -DWITH_LIBRARY it also uses libshared.so. */
#include <stdio.h>
#include <string.h>

#include "cls_runtime.h"

int failures;
#define CHECK(condition)                                                      \
    do {                                                                      \
        if (!(condition)) {                                                   \
            printf("FAILED line %d: %s\n", __LINE__, #condition);             \
            failures++;                                                       \
        }                                                                     \
    } while (0)

int counter;                   /* .cls.bss */
int table[4] = {10, 20, 30, 40}; /* .cls.data */
int *cursor = &table[2];       /* a relocation inside the template */
int *runtime_pointer;          /* set at run time */

static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }

struct ops {
    int (*apply)(int);
    int *target;
    const char *name;
};
struct ops ops = {twice, &counter, "twice"};
/* A constant that points at CLS data: becomes CLS data itself. */
int *const pointers[2] = {&counter, &table[1]};

#ifdef WITH_LIBRARY
extern int shared_counter;   /* defined in libshared.so */
extern int *shared_pointer;  /* defined in libshared.so, points at shared_counter */
int library_bump(int by);
int *library_counter_address(void);
#endif

static int next_ticket(void) {
    static int tickets = 100; /* function-local static */
    return tickets++;
}

void work(int rounds) {
    for (int round = 0; round < rounds; round++) {
        counter++;
        table[round % 4] += 1;
        next_ticket();
    }
    runtime_pointer = &table[3];
#ifdef WITH_LIBRARY
    for (int round = 0; round < rounds; round++) shared_counter++;
    library_bump(rounds * 10);
#endif
}

void check_instance(int instance, int rounds) {
    CHECK(counter == rounds);
    CHECK(next_ticket() == 100 + rounds);
    CHECK(cls_instance_of(&counter) == instance);
    CHECK(cls_instance_of(cursor) == instance);
    CHECK(cursor == &table[2]);
    CHECK(*cursor == 30 + (rounds > 2 ? 1 : 0) + (rounds > 6 ? 1 : 0));
    CHECK(runtime_pointer == &table[3]);
    CHECK(cls_instance_of(runtime_pointer) == instance);
    CHECK(ops.target == &counter);
    CHECK(*ops.target == rounds);
    CHECK(ops.apply(21) == 42);
    CHECK(strcmp(ops.name, "twice") == 0);
    CHECK(cls_instance_of(ops.name) == CLS_ELSEWHERE);
    CHECK(pointers[0] == &counter);
    CHECK(pointers[1] == &table[1]);
    CHECK(cls_instance_of(pointers[0]) == instance);
#ifdef WITH_LIBRARY
    CHECK(shared_counter == 5 + rounds + rounds * 10);
    CHECK(&shared_counter == library_counter_address());
    CHECK(cls_instance_of(&shared_counter) == instance);
    CHECK(shared_pointer == &shared_counter);
#endif
}

void check_templates(void) {
    CHECK(cls_template_count() >= 1); /* one per object: the span of its .cls sections */
    CHECK(cls_relocation_count() >= 4);
}

void set_apply(int factor) { ops.apply = factor == 3 ? thrice : twice; }

void check_apply(int expected) { CHECK(ops.apply(21) == expected); }

void check_pristine(int instance) {
    CHECK(counter == 0);
    CHECK(table[0] == 10 && table[3] == 40);
    CHECK(cls_instance_of(cursor) == instance);
    CHECK(runtime_pointer == NULL);
}

int failure_count(void) { return failures; }
