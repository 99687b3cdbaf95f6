/* start.c: the entry point of every cVM program, linked into the program itself.
 *
 * The intravisor enters `_start` with the address of the boot block; the program's
 * `main` is handed to cvm-libos (in the shared libcvm.so), which sets the cVM up, calls
 * it, and exits with its status. */
struct cvm_boot_info;
int main(int argc, char **argv);
_Noreturn void __cvm_start(const struct cvm_boot_info *boot, int (*main)(int, char **));

_Noreturn void _start(const struct cvm_boot_info *boot) {
    __cvm_start(boot, main);
}
