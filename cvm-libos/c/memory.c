/* The memory functions a compiler may call for any object without its source naming
 * them (a zeroed local array, a structure copy, especially at -O0): exported by
 * libcvm.so so that every ORC object links and loads. A program on the C library binds
 * to musl's own, which come first in its search order. Byte loops: clang does not turn
 * a loop inside a function of these names into a call to itself, and the libOS is
 * compiled freestanding (no builtins). */
#include <stddef.h>

void *memset(void *destination, int value, size_t length) {
    unsigned char *bytes = destination;
    for (size_t index = 0; index < length; index++)
        bytes[index] = (unsigned char)value;
    return destination;
}

void *memcpy(void *restrict destination, const void *restrict source, size_t length) {
    unsigned char *to = destination;
    const unsigned char *from = source;
    for (size_t index = 0; index < length; index++)
        to[index] = from[index];
    return destination;
}

void *memmove(void *destination, const void *source, size_t length) {
    unsigned char *to = destination;
    const unsigned char *from = source;
    if (to < from) {
        for (size_t index = 0; index < length; index++)
            to[index] = from[index];
    } else {
        for (size_t index = length; index > 0; index--)
            to[index - 1] = from[index - 1];
    }
    return destination;
}

int memcmp(const void *left, const void *right, size_t length) {
    const unsigned char *a = left, *b = right;
    for (size_t index = 0; index < length; index++)
        if (a[index] != b[index])
            return a[index] < b[index] ? -1 : 1;
    return 0;
}
