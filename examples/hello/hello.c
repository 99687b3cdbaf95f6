/* hello: prints its name and arguments through the console hostcall. */
#include <cvm.h>

int main(int argc, char **argv) {
    cvm_printf("hello from %s with %d argument%s\n", argv[0], argc - 1, argc == 2 ? "" : "s");
    for (int index = 1; index < argc; index++)
        cvm_printf("  argument %d: %s\n", index, argv[index]);
    return 0;
}
