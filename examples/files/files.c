/* files: reads the file it was granted, writes a transformed copy into its output
 * directory, and shows that nothing else can be opened. */
#include <cvm.h>

static void report(const char *what, int64_t result) {
    cvm_printf("%s -> %lld\n", what, (long long)result);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    int64_t input = cvm_open("input.txt", CVM_OPEN_READ);
    report("open input.txt", input);
    if (input < 0)
        return 1;
    char buffer[256];
    int64_t length = cvm_read((uint64_t)input, buffer, sizeof buffer);
    report("read input.txt", length);
    cvm_close((uint64_t)input);
    if (length < 0)
        return 1;
    for (int64_t index = 0; index < length; index++)
        if (buffer[index] >= 'a' && buffer[index] <= 'z')
            buffer[index] = (char)(buffer[index] - 'a' + 'A');

    int64_t output = cvm_open("shout.txt", CVM_OPEN_WRITE);
    report("create shout.txt", output);
    if (output < 0)
        return 1;
    report("write shout.txt", cvm_write((uint64_t)output, buffer, (uint64_t)length));
    cvm_close((uint64_t)output);

    report("open /etc/passwd", cvm_open("/etc/passwd", CVM_OPEN_READ));
    report("open deploy.yaml", cvm_open("deploy.yaml", CVM_OPEN_READ));
    report("create ../escape.txt", cvm_open("../escape.txt", CVM_OPEN_WRITE));
    report("read into a buffer outside the region",
           cvm_read(0, (void *)(uintptr_t)0x1000, 16));
    return 0;
}
