/* start_libc.c: the entry point of a cVM program written against the C library
 * (musl, cvm-libc/), linked into the program itself.
 *
 * The intravisor enters `_start` with the address of the boot block; cvm-libos sets the
 * cVM up and builds the argument, environment and auxiliary vectors, and musl's
 * `__libc_start_main` runs the objects' initializers and the program's `main` (through
 * `start_main`) and exits with its status. */
struct cvm_boot_info;
int main(int argc, char **argv, char **environment);
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*loader_fini)(void));
char **__cvm_libc_arguments(const struct cvm_boot_info *boot, int *argc);

void __cvm_initialize(void);
void __cvm_finalize(void);
int atexit(void (*function)(void));

/* Once musl is set up: the objects' initializers, their finalizers registered as the
 * first handler `exit` runs (so, last), then the program's `main`. */
static int start_main(int argc, char **argv, char **environment) {
    __cvm_initialize();
    atexit(__cvm_finalize);
    return main(argc, argv, environment);
}

_Noreturn void _start(const struct cvm_boot_info *boot) {
    int argc;
    char **argv = __cvm_libc_arguments(boot, &argc);
    __libc_start_main(start_main, argc, argv, 0, 0, 0);
    for (;;) {
    }
}
