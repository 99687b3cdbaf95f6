/* cvm-build: libc
 *
 * musl-hello: a program on the C library (musl, shared by every cVM as libc.so) rather
 * than on cvm-libos's own interface: stdio, malloc, string formatting, errno, the
 * clock, and a system call cvm-libos does not serve (ENOSYS, reported once). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int calls;

int main(int argc, char **argv) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    printf("hello from %s on musl, %d argument%s\n", argv[0], argc - 1, argc == 2 ? "" : "s");
    for (int index = 1; index < argc; index++)
        printf("  argument %d: %s (%zu bytes)\n", index, argv[index], strlen(argv[index]));
    size_t size = 1 << 20;
    unsigned char *block = malloc(size);
    if (!block)
        return 2;
    memset(block, 7, size);
    unsigned long sum = 0;
    for (size_t index = 0; index < size; index++)
        sum += block[index];
    free(block);
    calls++;
    FILE *missing = fopen("not-granted.txt", "r");
    int error = errno;
    printf("sum %lu, %d call, fopen of an ungranted file: %s (%s)\n", sum, calls,
           missing ? "opened" : "refused", strerror(error));
    long first = syscall(999), second = syscall(999);
    printf("syscall(999) twice: %ld, %ld (%s)\n", first, second, strerror(errno));
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("the clock %s\n", end.tv_sec > start.tv_sec ||
                                     (end.tv_sec == start.tv_sec && end.tv_nsec >= start.tv_nsec)
                                 ? "went forward"
                                 : "went back");
    return 0;
}
