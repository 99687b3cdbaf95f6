/* tables: a cVM that fills a lookup table at run time exactly as every other cVM of
 * its program does (the pages run-time sharing merges), keeps one page of its own
 * (its name), then checks that what it sees is what it wrote, whatever its
 * neighbours do:
 *
 *   1. fills `table` (64 pages) from a formula and `mine` with its name, reads the
 *      16 zero pages of `spare` and writes a byte into one of them (its own choice:
 *      the others, zeros here and not in some other cVM, are given back);
 *   2. waits (in 10 ms slices, each with a hostcall) for the first argument's
 *      milliseconds: its tenant's run-time sharing merges the table meanwhile;
 *   3. checks the table, then writes into it four ways: a store of its own (a write
 *      to a merged page faults and gets its own copy), the intravisor's write (random
 *      bytes through a hostcall), a futex wait on a word of it, and, when it is granted
 *      `pattern.bin`, a read of that file across three of its pages (its process reads
 *      granted files itself), checked against a read of the same bytes into its stack;
 *   4. the same into `spare`'s given-back pages;
 *   5. waits the second argument's milliseconds (the others write too), then checks
 *      every byte: its own writes where it wrote, the formula (or zeros) everywhere
 *      else.
 *
 * A third argument `shifted` lays the table out five pages round from where the others
 * do: each page holds what the others hold at another offset, and is merged all the same.
 *
 * A third argument `peek` reads the group's merged file with raw system calls after the
 * merge: it holds pages of the table, and never `secret`, which only the cVMs without a
 * third argument hold.
 *
 * A third argument `race` starts a thread that, while the table is being merged, keeps
 * writing into its pages (40 to 63, one after the other) and reading its write back: a
 * write made between the intravisor's comparison of a page and its process mapping the
 * merged copy must not be lost.
 *
 * A third argument may also try, with a raw system call, what run-time sharing lets a cVM
 * process map beyond what it is meant to: `exec` its region's file executable, `write`
 * the group's merged file writable (system calls the seccomp filter forbids: the cVM
 * ends), `bad` a descriptor a process without run-time sharing does not have (EBADF).
 *
 * It prints `ok` and exits 0, or says what differs and exits 1. */
#include <cvm.h>

#define PAGE 4096
#define PAGES 64

static unsigned char table[PAGES * PAGE] __attribute__((aligned(PAGE)));
static unsigned char mine[PAGE] __attribute__((aligned(PAGE)));
#define SPARE_PAGES 16
static unsigned char spare[SPARE_PAGES * PAGE] __attribute__((aligned(PAGE)));
static volatile uint32_t never;

static long raw_syscall(long number, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
#else
    register long x8 __asm__("x8") = number;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#endif
}

#if defined(__x86_64__)
#define SYS_MMAP 9
#define SYS_PREAD64 17
#else
#define SYS_MMAP 222
#define SYS_PREAD64 67
#endif
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define SHARED_FIXED 0x11

/* mmap of descriptor `file` over the cVM's own page. */
static long map_over_own_page(int protection, int file) {
    /* Through a volatile: the address is this cVM's, read at run time, never a constant
     * folded into the system call's operands (the cls-pass refuses those). */
    unsigned char *volatile page = mine;
    return raw_syscall(SYS_MMAP, (long)(uintptr_t)page, PAGE, protection, SHARED_FIXED, file, 0);
}

/* A page that the cVMs without a third argument fill alike and the others leave zero:
 * held by some members of the group, not by all, so never merged. */
static volatile unsigned char secret[PAGE] __attribute__((aligned(PAGE)));

static unsigned char secret_byte(uint64_t index) {
    return (unsigned char)(0xa5 ^ (index * 7));
}

/* `peek`: reads the group's merged file (descriptor 2) page by page with raw system
 * calls, as hostile code would: it must find pages of the table there (the read works)
 * and never the secret page, which this cVM does not hold. 1 if it does, 0 if not. */
static int peek(void) {
    static unsigned char page[PAGE];
    uint64_t pages = 0, of_the_table = 0;
    for (uint64_t offset = 0;; offset += PAGE) {
        long result = raw_syscall(SYS_PREAD64, 2, (long)(uintptr_t)page, PAGE, (long)offset, 0, 0);
        if (result != PAGE)
            break;
        pages++;
        int is_secret = 1;
        for (uint64_t index = 0; index < PAGE && is_secret; index++)
            is_secret = page[index] == secret_byte(index);
        if (is_secret) {
            cvm_printf("the merged file holds, at %llu, a page this cVM never held\n", (unsigned long long)offset);
            return 1;
        }
        for (uint64_t table_page = 0; table_page < PAGES; table_page++) {
            int same = 1;
            for (uint64_t index = 0; index < PAGE && same; index++)
                same = page[index] == table[table_page * PAGE + index];
            if (same) {
                of_the_table++;
                break;
            }
        }
    }
    if (of_the_table == 0) {
        cvm_printf("read %llu pages of the merged file, none of the table\n", (unsigned long long)pages);
        return 1;
    }
    return 0;
}

static unsigned char formula(uint64_t index) {
    return (unsigned char)((index * 2654435761u) >> 13);
}

/* How far (in bytes) this cVM's table is laid out from the others': `shifted` holds at
 * each page what the others hold five pages on (the same contents at other offsets,
 * as two heaps may lay a table out). */
static uint64_t shift;

/* Byte `index` of the table as the cVM fills it. */
static unsigned char table_byte(uint64_t index) {
    return formula((index + shift) % (PAGES * PAGE));
}

static uint64_t number(const char *text) {
    uint64_t value = 0;
    for (; *text >= '0' && *text <= '9'; text++)
        value = value * 10 + (uint64_t)(*text - '0');
    return value;
}

/* The racing thread: its stop flag, the word cleared when it ends, what it found. */
static volatile uint32_t stop_racing;
static volatile uint32_t racing = 1;
static volatile uint64_t lost_writes, racing_writes;
static unsigned char racer_stack[65536] __attribute__((aligned(16)));

static int64_t race(uint64_t unused) {
    (void)unused;
    while (!stop_racing) {
        for (uint64_t page = 40; page < PAGES && !stop_racing; page++) {
            uint64_t index = page * PAGE + 7;
            unsigned char marker = (unsigned char)(table_byte(index) ^ 0xff);
            ((volatile unsigned char *)table)[index] = marker;
            for (volatile int spin = 0; spin < 100000; spin++) {
            }
            if (((volatile unsigned char *)table)[index] != marker)
                lost_writes++;
            ((volatile unsigned char *)table)[index] = table_byte(index);
            racing_writes++;
        }
        for (uint64_t page = 0; page < SPARE_PAGES && !stop_racing; page++) {
            volatile unsigned char *byte = &spare[page * PAGE + 9];
            unsigned char before = *byte;
            *byte = 0xee;
            for (volatile int spin = 0; spin < 100000; spin++) {
            }
            if (*byte != 0xee)
                lost_writes++;
            *byte = before;
            racing_writes++;
        }
    }
    return 0;
}

static void wait_milliseconds(uint64_t milliseconds) {
    uint64_t deadline = cvm_clock_monotonic() + milliseconds * 1000000ULL;
    for (uint64_t now = cvm_clock_monotonic(); now < deadline; now = cvm_clock_monotonic()) {
        uint64_t slice = deadline - now < 10000000ULL ? deadline - now : 10000000ULL;
        cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&never, 0, slice, 0, 0);
    }
}

/* Pages 0, 10 (stores), 20 (random bytes from the intravisor), 30 (futex word). */
/* Where the granted file `pattern.bin` is read into the table, and what it holds there
 * (read again into the stack); `pattern_read` once it was. */
#define PATTERN_AT (25 * PAGE + 100)
#define PATTERN_LENGTH (2 * PAGE)
static unsigned char pattern[PATTERN_LENGTH];
static int pattern_read;

static int written(uint64_t index) {
    return index == 0 || index == 10 * PAGE + 5 || (index >= 20 * PAGE && index < 21 * PAGE) ||
           (pattern_read && index >= PATTERN_AT && index < PATTERN_AT + PATTERN_LENGTH);
}

/* Reads the granted `pattern.bin` into the table at PATTERN_AT, and again into
 * `pattern`; 1 if the two differ or a read fails, 0 otherwise (or without the grant). */
static int read_pattern(void) {
    int64_t into_table = cvm_open("pattern.bin", CVM_OPEN_READ), into_copy = cvm_open("pattern.bin", CVM_OPEN_READ);
    if (into_table < 0 || into_copy < 0)
        return 0;
    int64_t read_table = cvm_read((uint64_t)into_table, &table[PATTERN_AT], PATTERN_LENGTH);
    int64_t read_copy = cvm_read((uint64_t)into_copy, pattern, PATTERN_LENGTH);
    cvm_close((uint64_t)into_table);
    cvm_close((uint64_t)into_copy);
    if (read_table != PATTERN_LENGTH || read_copy != PATTERN_LENGTH) {
        cvm_printf("reading pattern.bin gave %lld and %lld\n", (long long)read_table, (long long)read_copy);
        return 1;
    }
    pattern_read = 1;
    return 0;
}

/* Byte `index` of the cVM's own page: its name, over and over. */
static unsigned char own_byte(const char *name, uint64_t index) {
    uint64_t length = 0;
    while (name[length])
        length++;
    return length ? (unsigned char)name[index % length] : 0;
}

/* Byte `index` of `spare` as the cVM wrote it: `own` at the start of its page, and
 * after the writes at byte 3 of the next page; the intravisor's random bytes fill the
 * page after that. */
static int check_spare(const char *when, int after_writes, unsigned char own) {
    uint64_t chosen = own % SPARE_PAGES, stored = (chosen + 1) % SPARE_PAGES, random = (chosen + 2) % SPARE_PAGES;
    int random_seen = 0;
    for (uint64_t index = 0; index < sizeof spare; index++) {
        uint64_t page = index / PAGE;
        unsigned char expected = 0;
        if (page == chosen && index % PAGE == 0)
            expected = own;
        if (after_writes && page == stored && index % PAGE == 3)
            expected = own;
        if (after_writes && page == random) {
            random_seen |= spare[index] != 0;
            continue;
        }
        if (spare[index] != expected) {
            cvm_printf("%s: spare byte %llu is %u, not %u\n", when, (unsigned long long)index, spare[index],
                       expected);
            return 1;
        }
    }
    if (after_writes && !random_seen) {
        cvm_printf("%s: the intravisor's write did not reach spare page %llu\n", when, (unsigned long long)random);
        return 1;
    }
    return 0;
}

static int check(const char *when, int after_writes, unsigned char own) {
    for (uint64_t index = 0; index < sizeof table; index++) {
        if (after_writes && written(index)) {
            if ((index == 0 || index == 10 * PAGE + 5) && table[index] != own) {
                cvm_printf("%s: byte %llu is %u, not the %u it wrote\n", when, (unsigned long long)index,
                           table[index], own);
                return 1;
            }
            if (index >= PATTERN_AT && index < PATTERN_AT + PATTERN_LENGTH &&
                table[index] != pattern[index - PATTERN_AT]) {
                cvm_printf("%s: byte %llu is %u, not the %u it read\n", when, (unsigned long long)index,
                           table[index], pattern[index - PATTERN_AT]);
                return 1;
            }
            continue;
        }
        if (table[index] != table_byte(index)) {
            cvm_printf("%s: byte %llu is %u, not %u\n", when, (unsigned long long)index, table[index],
                       table_byte(index));
            return 1;
        }
    }
    const char *name = cvm_name();
    for (uint64_t index = 0; index < PAGE; index++) {
        if (mine[index] != own_byte(name, index)) {
            cvm_printf("%s: its own page changed at %llu\n", when, (unsigned long long)index);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        cvm_printf("usage: tables MERGE_MS WRITE_MS\n");
        return 2;
    }
    const char *name = cvm_name();
    unsigned char own = 1;
    for (const char *character = name; *character; character++)
        own = (unsigned char)(own * 31 + (unsigned char)*character);
    char attack = argc > 3 ? argv[3][0] : 0;
    if (attack == 's')
        shift = 5 * PAGE;
    if (!attack)
        for (uint64_t index = 0; index < PAGE; index++)
            secret[index] = secret_byte(index);
    for (uint64_t index = 0; index < sizeof table; index++)
        table[index] = table_byte(index);
    for (uint64_t index = 0; index < PAGE; index++)
        mine[index] = own_byte(name, index);
    unsigned char sum = 0;
    for (uint64_t index = 0; index < sizeof spare; index += PAGE)
        sum |= ((volatile unsigned char *)spare)[index];
    spare[(own % SPARE_PAGES) * PAGE] = (unsigned char)(own | sum);
    if (attack == 'r') {
        uint64_t top = ((uint64_t)(uintptr_t)racer_stack + sizeof racer_stack) & ~15ULL;
        if (cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, (uint64_t)(uintptr_t)race, top, 0, 0,
                         (uint64_t)(uintptr_t)&racing) < 0) {
            cvm_printf("cannot start the racing thread\n");
            return 1;
        }
    }
    wait_milliseconds(number(argv[1]));
    if (attack == 'r') {
        stop_racing = 1;
        while (racing)
            cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&racing, 1, 10000000, 0, 0);
        if (lost_writes) {
            cvm_printf("%llu of %llu writes made while the table was merged were lost\n",
                       (unsigned long long)lost_writes, (unsigned long long)racing_writes);
            return 1;
        }
    }
    if (check("after merging", 0, own) || check_spare("after merging", 0, own))
        return 1;
    if (attack == 'p' && peek())
        return 1;
    table[0] = own;
    table[10 * PAGE + 5] = own;
    unsigned char random[PAGE];
    cvm_hostcall(CVM_HOSTCALL_RANDOM, (uint64_t)(uintptr_t)random, PAGE, 0, 0, 0);
    cvm_hostcall(CVM_HOSTCALL_RANDOM, (uint64_t)(uintptr_t)&table[20 * PAGE], PAGE, 0, 0, 0);
    int64_t waited = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&table[30 * PAGE],
                                  table_byte(30 * PAGE) + 1, 1000000, 0, 0);
    if (read_pattern())
        return 1;
    spare[((own % SPARE_PAGES + 1) % SPARE_PAGES) * PAGE + 3] = own;
    cvm_hostcall(CVM_HOSTCALL_RANDOM, (uint64_t)(uintptr_t)&spare[((own % SPARE_PAGES + 2) % SPARE_PAGES) * PAGE],
                 PAGE, 0, 0, 0);
    wait_milliseconds(number(argv[2]));
    if (check("after writing", 1, own) || check_spare("after writing", 1, own))
        return 1;
    int same = 1;
    for (uint64_t index = 0; index < PAGE; index++)
        same &= table[20 * PAGE + index] == table_byte(20 * PAGE + index);
    if (same) {
        cvm_printf("the intravisor's write did not reach page 20\n");
        return 1;
    }
    if (attack == 'e' || attack == 'w') {
        cvm_printf("mapping %s\n", attack == 'e' ? "its region's file executable" : "the merged file writable");
        long result = attack == 'e' ? map_over_own_page(PROT_READ | PROT_EXEC, 1)
                                    : map_over_own_page(PROT_READ | PROT_WRITE, 2);
        cvm_printf("the mapping was allowed: %ld\n", result);
        return 1;
    }
    if (attack == 'b') {
        /* Without run-time sharing the process keeps no file to map. */
        long result = map_over_own_page(PROT_READ | PROT_WRITE, 1);
        if (result != -9 /* EBADF */) {
            cvm_printf("mapping descriptor 1 gave %ld\n", result);
            return 1;
        }
    }
    cvm_printf("ok (futex wait on a merged word: %lld; writes while merging: %llu)\n", (long long)waited,
               (unsigned long long)racing_writes);
    return 0;
}
