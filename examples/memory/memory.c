/* memory: code a compiler turns into calls to memset and memcpy without the source
 * naming them (a zeroed local array, a large structure copied), at -O0 as at -O2:
 * libcvm.so provides them, so such code links and loads. */
#include <cvm.h>

struct block {
    char bytes[300];
};

static struct block make(char fill) {
    struct block block = {{0}};
    for (int index = 0; index < 300; index += 7)
        block.bytes[index] = fill;
    return block;
}

int main(int argc, char **argv) {
    (void)argv;
    volatile char zeros[200] = {0};
    struct block copy = make((char)('a' + argc));
    struct block again = copy;
    int sum = 0;
    for (int index = 0; index < 200; index++)
        sum += zeros[index];
    int filled = 0;
    for (int index = 0; index < 300; index++)
        filled += again.bytes[index] == (char)('a' + argc);
    cvm_printf("memory: zeros sum to %d, %d of 300 bytes filled\n", sum, filled);
    return 0;
}
