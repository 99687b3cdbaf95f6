/* cvm-build: without-cls-pass
 *
 * corrupt: tries to write where a cVM must not. Built without the cls-pass, so the
 * addresses it sees are the shared ones: the text of libcounter.so, and the template of
 * libcounter.so's globals. Both are mapped read-only: the write faults, and only this
 * cVM ends.
 */
#include <cvm.h>

extern int zero_counter;
int counter_bump(int amount);

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (same(mode, "text")) {
        volatile unsigned char *code = (volatile unsigned char *)(uintptr_t)counter_bump;
        cvm_printf("writing into shared text at %p\n", (void *)code);
        *code = 0xc3;
    } else if (same(mode, "template")) {
        volatile int *template = &zero_counter;
        cvm_printf("writing into the shared template at %p\n", (void *)template);
        *template = 42;
    }
    cvm_printf("still alive: this line must never appear\n");
    return 0;
}
