/* Drives counters.c; built WITHOUT cls-pass, so it may switch instances between calls.
 * Prints "ok" and exits 0 when every check in counters.c passed. */
#include <stdio.h>

#include "cls_runtime.h"

void check_templates(void);
void work(int rounds);
void check_instance(int instance, int rounds);
void set_apply(int factor);
void check_apply(int expected);
void check_pristine(int instance);
int failure_count(void);

int main(void) {
    check_templates();
    cls_set_instance(0);
    work(3);
    cls_set_instance(1);
    work(7);
    set_apply(3); /* only instance 1 changes its function pointer */
    cls_set_instance(0);
    check_apply(42);
    cls_set_instance(1);
    check_apply(63);
    set_apply(2);
    cls_set_instance(0);
    check_instance(0, 3);
    cls_set_instance(1);
    check_instance(1, 7);
    cls_set_instance(2); /* an untouched instance holds the pristine template values */
    check_pristine(2);
    /* Instance 0 again: failure_count reads its own copy of `failures`, so sum all. */
    int failures = 0;
    for (int instance = 0; instance < CLS_INSTANCES; instance++) {
        cls_set_instance(instance);
        failures += failure_count();
    }
    if (failures) {
        printf("%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
