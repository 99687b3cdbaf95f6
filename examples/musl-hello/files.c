/* cvm-build: libc
 *
 * files: stdio over the files a deployment grants, on musl. Reads its granted
 * input.txt (its size from fstat and from fseek/ftell), writes out.txt in its output
 * directory and goes back to patch its first bytes (as ffmpeg's AVI muxer patches its
 * header), reads it back through a read-only descriptor that cannot write it, checks
 * that nothing else can be opened or created, and uses /dev/null and /dev/urandom. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    FILE *input = fopen("input.txt", "r");
    if (!input) {
        printf("input.txt: %s\n", strerror(errno));
        return 1;
    }
    struct stat status;
    if (fstat(fileno(input), &status) != 0)
        return 2;
    fseek(input, 0, SEEK_END);
    long size = ftell(input);
    rewind(input);
    char text[128] = {0};
    size_t got = fread(text, 1, sizeof text - 1, input);
    fclose(input);
    printf("input.txt: %ld bytes by fstat, %ld by ftell, %zu read, %d lines\n", (long)status.st_size, size, got,
           (int)(strchr(text, '\n') ? 1 + !!strchr(strchr(text, '\n') + 1, '\n') : 0));

    FILE *output = fopen("out.txt", "w");
    if (!output) {
        printf("out.txt: %s\n", strerror(errno));
        return 3;
    }
    fputs("....", output);
    fputs(text, output);
    fseek(output, 0, SEEK_SET);
    fputs("HEAD", output);
    fclose(output);

    /* An output read back through a read-only descriptor, which does not write it. */
    int reader = open("out.txt", O_RDONLY);
    char head[4] = {0};
    ssize_t back = reader >= 0 ? read(reader, head, sizeof head) : -1;
    ssize_t wrote = reader >= 0 ? write(reader, "x", 1) : 0;
    int write_back_error = errno;
    if (reader >= 0)
        close(reader);
    printf("out.txt read-only: %zd bytes back (%.4s), write: %s\n", back, head,
           wrote < 0 ? strerror(write_back_error) : "written");

    FILE *other = fopen("/etc/passwd", "r");
    int read_error = errno;
    FILE *escape = fopen("../escape.txt", "w");
    int write_error = errno;
    printf("/etc/passwd: %s; ../escape.txt: %s\n", other ? "opened" : strerror(read_error),
           escape ? "created" : strerror(write_error));

    FILE *null = fopen("/dev/null", "r+");
    size_t discarded = null ? fwrite("hello", 1, 5, null) : 0;
    int end = null ? fgetc(null) : 0;
    if (null)
        fclose(null);
    unsigned char first[16] = {0}, second[16] = {0}, third[16] = {0};
    FILE *urandom = fopen("/dev/urandom", "r");
    size_t got_first = urandom ? fread(first, 1, sizeof first, urandom) : 0;
    size_t got_second = urandom ? fread(second, 1, sizeof second, urandom) : 0;
    if (urandom)
        fclose(urandom);
    ssize_t got_third = getrandom(third, sizeof third, 0);
    int different = memcmp(first, second, 16) != 0 && memcmp(second, third, 16) != 0;
    printf("/dev/null: wrote %zu, read %s; /dev/urandom: %zu and %zu bytes, getrandom %zd, %s\n", discarded,
           end == EOF ? "EOF" : "data", got_first, got_second, got_third, different ? "all different" : "repeated");
    return other || escape ? 4 : 0;
}
