/* The patched x86-64 memcpy (musl-cvm.patch, src/string/x86_64/memcpy.s, renamed
 * test_memcpy when assembled here) against a byte loop: every size to 1,100 bytes at
 * every pair of alignments, and the forward overlapping copies memmove makes with it
 * (destination below the source) against the host's memmove. Prints "ok N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *test_memcpy(void *destination, const void *source, size_t size);

int main(void) {
    static unsigned char source[4096], destination[4096], expected[4096], buffer[8192], reference[8192];
    for (int index = 0; index < 4096; index++)
        source[index] = (unsigned char)rand();
    long checks = 0;
    for (size_t size = 0; size <= 1100; size++)
        for (int from = 0; from < 16; from++)
            for (int to = 0; to < 16; to++) {
                memset(destination, 0xaa, sizeof destination);
                memset(expected, 0xaa, sizeof expected);
                void *returned = test_memcpy(destination + to, source + from, size);
                for (size_t index = 0; index < size; index++)
                    expected[to + index] = source[from + index];
                if (returned != destination + to || memcmp(destination, expected, sizeof destination)) {
                    printf("memcpy of %zu bytes from offset %d to offset %d is wrong\n", size, from, to);
                    return 1;
                }
                checks++;
            }
    for (size_t size = 0; size <= 700; size++)
        for (int gap = 1; gap < 70; gap++) {
            for (int index = 0; index < 8192; index++)
                buffer[index] = reference[index] = (unsigned char)(index * 7 + 3);
            test_memcpy(buffer + 100, buffer + 100 + gap, size);
            memmove(reference + 100, reference + 100 + gap, size);
            if (memcmp(buffer, reference, sizeof buffer)) {
                printf("forward overlapping copy of %zu bytes, %d apart, is wrong\n", size, gap);
                return 1;
            }
            checks++;
        }
    printf("ok %ld\n", checks);
    return 0;
}
