/* start_libc.c: the entry point of a cVM program written against the C library
 * (musl, cvm-libc/), linked into the program itself.
 *
 * The intravisor enters `_start` with the address of the boot block; cvm-libos sets the
 * cVM up and builds the argument, environment and auxiliary vectors, and musl's
 * `__libc_start_main` runs the program's `main` and exits with its status. */
struct cvm_boot_info;
int main(int argc, char **argv, char **environment);
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*loader_fini)(void));
char **__cvm_libc_arguments(const struct cvm_boot_info *boot, int *argc);

_Noreturn void _start(const struct cvm_boot_info *boot) {
    int argc;
    char **argv = __cvm_libc_arguments(boot, &argc);
    __libc_start_main(main, argc, argv, 0, 0, 0);
    for (;;) {
    }
}
