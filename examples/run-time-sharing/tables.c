/* tables: a cVM that fills a lookup table at run time exactly as every other cVM of
 * its program does (the pages run-time sharing merges), keeps one page of its own
 * (its name), then checks that what it sees is what it wrote, whatever its
 * neighbours do:
 *
 *   1. fills `table` (64 pages) from a formula and `mine` with its name;
 *   2. waits (in 10 ms slices, each with a hostcall) for the first argument's
 *      milliseconds: its tenant's run-time sharing merges the table meanwhile;
 *   3. checks the table, then writes into it three ways: a store of its own (a write
 *      to a merged page faults and gets its own copy), the intravisor's write (random
 *      bytes through a hostcall), and a futex wait on a word of it;
 *   4. waits the second argument's milliseconds (the others write too), then checks
 *      every byte: its own writes where it wrote, the formula everywhere else.
 *
 * It prints `ok` and exits 0, or says what differs and exits 1. */
#include <cvm.h>

#define PAGE 4096
#define PAGES 64

static unsigned char table[PAGES * PAGE] __attribute__((aligned(PAGE)));
static unsigned char mine[PAGE] __attribute__((aligned(PAGE)));
static volatile uint32_t never;

static unsigned char formula(uint64_t index) {
    return (unsigned char)((index * 2654435761u) >> 13);
}

static uint64_t number(const char *text) {
    uint64_t value = 0;
    for (; *text >= '0' && *text <= '9'; text++)
        value = value * 10 + (uint64_t)(*text - '0');
    return value;
}

static void wait_milliseconds(uint64_t milliseconds) {
    uint64_t deadline = cvm_clock_monotonic() + milliseconds * 1000000ULL;
    for (uint64_t now = cvm_clock_monotonic(); now < deadline; now = cvm_clock_monotonic()) {
        uint64_t slice = deadline - now < 10000000ULL ? deadline - now : 10000000ULL;
        cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&never, 0, slice, 0, 0);
    }
}

/* Pages 0, 10 (stores), 20 (random bytes from the intravisor), 30 (futex word). */
static int written(uint64_t index) {
    return index == 0 || index == 10 * PAGE + 5 || (index >= 20 * PAGE && index < 21 * PAGE);
}

/* Byte `index` of the cVM's own page: its name, over and over. */
static unsigned char own_byte(const char *name, uint64_t index) {
    uint64_t length = 0;
    while (name[length])
        length++;
    return length ? (unsigned char)name[index % length] : 0;
}

static int check(const char *when, int after_writes, unsigned char own) {
    for (uint64_t index = 0; index < sizeof table; index++) {
        if (after_writes && written(index)) {
            if ((index == 0 || index == 10 * PAGE + 5) && table[index] != own) {
                cvm_printf("%s: byte %llu is %u, not the %u it wrote\n", when, (unsigned long long)index,
                           table[index], own);
                return 1;
            }
            continue;
        }
        if (table[index] != formula(index)) {
            cvm_printf("%s: byte %llu is %u, not %u\n", when, (unsigned long long)index, table[index],
                       formula(index));
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
    for (uint64_t index = 0; index < sizeof table; index++)
        table[index] = formula(index);
    for (uint64_t index = 0; index < PAGE; index++)
        mine[index] = own_byte(name, index);
    wait_milliseconds(number(argv[1]));
    if (check("after merging", 0, own))
        return 1;
    table[0] = own;
    table[10 * PAGE + 5] = own;
    unsigned char random[PAGE];
    cvm_hostcall(CVM_HOSTCALL_RANDOM, (uint64_t)(uintptr_t)random, PAGE, 0, 0, 0);
    cvm_hostcall(CVM_HOSTCALL_RANDOM, (uint64_t)(uintptr_t)&table[20 * PAGE], PAGE, 0, 0, 0);
    int64_t waited = cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&table[30 * PAGE],
                                  formula(30 * PAGE) + 1, 1000000, 0, 0);
    wait_milliseconds(number(argv[2]));
    if (check("after writing", 1, own))
        return 1;
    int same = 1;
    for (uint64_t index = 0; index < PAGE; index++)
        same &= table[20 * PAGE + index] == formula(20 * PAGE + index);
    if (same) {
        cvm_printf("the intravisor's write did not reach page 20\n");
        return 1;
    }
    cvm_printf("ok (futex wait on a merged word: %lld)\n", (long long)waited);
    return 0;
}
