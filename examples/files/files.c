/* files: reads the file it was granted, writes a transformed copy into its output
 * directory, and shows that nothing else can be opened. With the argument `hoard`, it
 * opens its granted file until it is refused (its deployment's isolation.open_files),
 * then closes one and opens it again. With `large`, it reads its granted `large.bin`
 * with reads of 20 MiB at a time until its end and prints what each gave and a checksum.
 * With `positions`, it reads, seeks, sizes and closes two handles of its granted file
 * (a cVM process reads granted files itself: the answers must be the intravisor's),
 * then creates an output in the handle it closed. */
#include <cvm.h>

static void report(const char *what, int64_t result) {
    cvm_printf("%s -> %lld\n", what, (long long)result);
}

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

/* Counted with an atomic read-modify-write, which AArch64 builds inline
 * (-mno-outline-atomics) rather than call libgcc's helpers for. */
static int opened;

static int hoard(void) {
    int64_t last = -1;
    for (;;) {
        int64_t handle = cvm_open("input.txt", CVM_OPEN_READ);
        if (handle < 0) {
            cvm_printf("hoard: %d open, the next -> %lld\n", __atomic_load_n(&opened, __ATOMIC_SEQ_CST),
                       (long long)handle);
            break;
        }
        if (__atomic_add_fetch(&opened, 1, __ATOMIC_SEQ_CST) > 100000) {
            cvm_printf("hoard: no limit\n");
            return 1;
        }
        last = handle;
    }
    if (last < 0)
        return 1;
    report("hoard: close one", cvm_close((uint64_t)last));
    report("hoard: open again", cvm_open("input.txt", CVM_OPEN_READ));
    return 0;
}

static int large(void) {
    const uint64_t size = 20u << 20;
    unsigned char *buffer = cvm_malloc(size);
    int64_t input = cvm_open("large.bin", CVM_OPEN_READ);
    if (!buffer || input < 0)
        return 1;
    uint64_t total = 0;
    for (;;) {
        int64_t count = cvm_read((uint64_t)input, buffer + total, size - total);
        report("large: read", count);
        if (count <= 0)
            break;
        total += (uint64_t)count;
    }
    uint32_t sum = 0;
    for (uint64_t index = 0; index < total; index++)
        sum = sum * 31u + buffer[index];
    cvm_printf("large: %llu bytes, checksum %u\n", (unsigned long long)total, sum);
    return 0;
}

static int64_t seek(int64_t handle, int64_t offset, uint64_t whence) {
    return cvm_hostcall(CVM_HOSTCALL_SEEK, (uint64_t)handle, (uint64_t)offset, whence, 0, 0);
}

static int positions(void) {
    char first_bytes[8] = { 0 }, second_bytes[8] = { 0 }, tail[8] = { 0 };
    int64_t first = cvm_open("input.txt", CVM_OPEN_READ), second = cvm_open("input.txt", CVM_OPEN_READ);
    if (first < 0 || second < 0)
        return 1;
    report("first: read 5", cvm_read((uint64_t)first, first_bytes, 5));
    report("second: read 5", cvm_read((uint64_t)second, second_bytes, 5));
    cvm_printf("read: %s, %s\n", first_bytes, second_bytes);
    report("first: seek 5 before the end", seek(first, -5, 2));
    report("first: read 7", cvm_read((uint64_t)first, tail, 7));
    cvm_printf("read: %s", tail);
    report("first: seek back 3", seek(first, -3, 1));
    report("first: seek before the start", seek(first, -40, 1));
    report("first: seek to a negative offset", seek(first, -1, 0));
    report("first: seek from nowhere", seek(first, 0, 3));
    report("first: seek past the end", seek(first, 100, 0));
    report("first: read past the end", cvm_read((uint64_t)first, first_bytes, 5));
    report("first: size", cvm_hostcall(CVM_HOSTCALL_FILE_SIZE, (uint64_t)first, 0, 0, 0, 0));
    report("second: read outside the region", cvm_read((uint64_t)second, (void *)(uintptr_t)0x1000, 16));
    report("second: read into its code",
           cvm_read((uint64_t)second, (void *)((uintptr_t)cvm_printf & ~(uintptr_t)4095), 16));
    report("first: close", cvm_close((uint64_t)first));
    report("first: read once closed", cvm_read((uint64_t)first, first_bytes, 5));
    report("first: seek once closed", seek(first, 0, 0));
    int64_t output = cvm_open("reused.txt", CVM_OPEN_WRITE);
    report("output: takes the closed handle", output == first);
    report("output: read", cvm_read((uint64_t)output, first_bytes, 5));
    report("output: write", cvm_write((uint64_t)output, "abc", 3));
    report("output: seek to its start", seek(output, 0, 0));
    report("second: read 5", cvm_read((uint64_t)second, second_bytes, 5));
    cvm_printf("read: %s\n", second_bytes);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && same(argv[1], "hoard"))
        return hoard();
    if (argc > 1 && same(argv[1], "large"))
        return large();
    if (argc > 1 && same(argv[1], "positions"))
        return positions();
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
