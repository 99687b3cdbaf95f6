/* cvm-build: libc
 * constructors_libc: the same on the C library: the library's constructors have run
 * before the program's, which may use stdio; the destructors run at exit, before musl
 * flushes its buffers. */
#include <stdio.h>

int library_value(void);
void library_add(int amount);

static int seen;

__attribute__((constructor)) static void program_first(void) {
    seen = library_value();
    printf("constructors_libc: constructor saw %d\n", seen);
}

__attribute__((destructor)) static void program_last(void) {
    printf("constructors_libc: program finalized with %d\n", library_value());
}

int main(int argc, char **argv) {
    (void)argv;
    library_add(argc);
    printf("constructors_libc: main sees %d\n", library_value());
    return 0;
}
