/* cvm-process: the process a cVM runs in on the Linux host (ARCHITECTURE §5).
 *
 * The intravisor execs this small static program, with no C library, from a sealed
 * memory file: nothing of the intravisor is mapped here. It starts it ahead of need (a
 * pool of started processes), and this program
 *
 *   0. asks to be killed with the intravisor's thread that started it, gives up core
 *      dumps, takes new namespaces (where the kernel allows: the error is noted in the
 *      gate; no network namespace of its own when started in the empty one all cVM
 *      processes share, its first argument `shared-network`), and waits on descriptor
 *      0, a socket, for a cVM: three descriptors, the cVM's gate (a memory file shared
 *      with the intravisor: what to map and enter, the seccomp filter, one hostcall
 *      slot per thread, the fault record), its region and a read-only view of the
 *      shared objects; then takes its processor time limit;
 *   1. maps the region and the shared objects it is given, at their addresses, with
 *      their protections (the objects from a read-only file: no mapping of them can
 *      ever become writable), and closes every file descriptor but, with run-time
 *      sharing (`merge.rs`), its region's file and its group's merged file (read-only),
 *      kept as descriptors 1 and 2 to map pages again (`apply_merges`), and the
 *      granted regular files it was handed (read-only), kept from descriptor 64 on;
 *   2. points the boot block's hostcall entry at `shim_hostcall`, installs its fault
 *      handlers, sets no_new_privs, a Landlock domain that allows no file access, and
 *      the seccomp filter the intravisor compiled (every system call but the few below
 *      traps, and the trap ends the cVM with the call's number);
 *   3. enters the cVM: the intravisor put the process in its groups (its limits)
 *      before it handed the gate over, which says GO. The intravisor does not wait for
 *      the set-up: one that fails says so in the gate (FAILED, the stage and the errno)
 *      and exits before any cVM code runs.
 *
 * A hostcall is a request in the calling thread's slot, a futex wake, and a futex wait
 * for the answer; the intravisor checks every argument against the cVM's capabilities,
 * as it does for a cVM in its own process. Futex waits and wakes on the cVM's own words
 * and reads of the monotonic and wall clocks are the exceptions: they are made here, as
 * the system calls the filter allows anyway (the kernel checks the word; it is in the
 * cVM's own memory file, so the intravisor's wakes of the same word, on its own mapping,
 * meet them). So are reads and seeks of the granted regular files the intravisor handed
 * over: it says which descriptor reads a file when it answers the file's open, and the
 * process then reads it with pread64 at a position of its own (`direct_read`), which
 * gives the cVM nothing its Seek and Read hostcalls do not. Everything here runs in
 * the cVM's process and is as untrusted as the cVM itself: the intravisor believes
 * nothing it finds in the gate. The layout of the gate is `gate.rs`'s; the two must
 * agree (the intravisor writes the layout's version, checked here).
 */
#include <stddef.h>
#include <stdint.h>

#define GATE_MAGIC 0x3145544147435230ULL /* "0RCGATE1" */
#define GATE_VERSION 5

/* Header words. */
enum {
    H_MAGIC, H_VERSION, H_STATE, H_FAILED_STAGE, H_FAILED_ERRNO, H_ENTRY, H_STACK_TOP,
    H_ARGUMENT, H_CLS_TABLE, H_BOOT_HOSTCALL_FIELD, H_MAPPING_COUNT, H_FILTER_LENGTH,
    H_LANDLOCK, H_FAULT_SIGNAL, H_FAULT_CODE, H_FAULT_ADDRESS, H_FAULT_PC, H_FAULT_SYSCALL,
    H_NAMESPACES, H_FUTEX_WAIT, H_FUTEX_WAKE, H_CPU_SECONDS, H_NAMESPACE_FLAGS,
    H_CLOCK_MONOTONIC, H_CLOCK_WALL, H_CLOCK_BASE, H_TIME_NAMESPACE, H_DIRECT_FILES, H_OPEN, H_READ,
    H_SEEK, H_CLOSE, H_FILE_SIZE,
};
/* Gate states: the intravisor hands the process a gate that says GO (its groups are in
 * place); the process says FAILED if it cannot set up. */
enum { GO = 2, FAILED = 3 };
/* Setup stages, reported with the errno when one fails. */
enum { STAGE_GATE = 1, STAGE_MAP, STAGE_SIGNALS, STAGE_NO_NEW_PRIVS, STAGE_SECCOMP, STAGE_LAYOUT, STAGE_LIMITS };
/* Mapping words: start, length, protection, file (1 region, 2 objects), offset, kind. */
enum { FILE_REGION = 1, FILE_SHARED = 2 };
/* The namespaces it takes: USER|NS|IPC|NET|UTS|CGROUP (the gate says the same). */
#define NAMESPACE_FLAGS 0x5e020000L
#define CLONE_NEWNET 0x40000000L
/* The first argument of a process started in the cVM processes' shared network namespace. */
#define SHARED_NETWORK_ARGUMENT "shared-network"
enum { M_START, M_LENGTH, M_PROTECTION, M_FILE, M_OFFSET, M_KIND, MAPPING_WORDS };
enum { KIND_MAP, KIND_PROTECT };
#define MAPPING_OFFSET 4096
#define MOST_MAPPINGS (8192 / (MAPPING_WORDS * 8))
#define FILTER_OFFSET 12288
#define MOST_FILTER 512
#define SLOT_OFFSET 16384
#define SLOTS 64
/* Slot words. */
enum {
    S_STATE, S_NUMBER, S_ARGUMENTS, S_RESULT = S_ARGUMENTS + 5, S_ACTION, S_VALUE, S_THREAD_ENTRY,
    S_THREAD_STACK, S_THREAD_ARGUMENT, S_THREAD_POINTER, S_TID, SLOT_WORDS = 16,
};
enum { IDLE, REQUEST, RESPONSE, ABANDONED };
enum { ACTION_RETURN, ACTION_SET_THREAD_POINTER, ACTION_START_THREAD, ACTION_EXIT_THREAD, ACTION_READ_DIRECTLY };
/* Not a hostcall: the thread's entry function returned this value. */
#define RETURNED 0xffffffff00000001ULL
/* Not a hostcall: give the cVM its own copy of the merged page at the first argument. */
#define UNSHARE 0xffffffff00000002ULL

/* Run-time sharing (`merge.rs`): the merge map's words, and the descriptors kept for
 * it (the seccomp filter allows mmap of exactly these). */
enum { MG_WANTED_GENERATION, MG_APPLIED_GENERATION, MG_REGION_START, MG_PAGES, MG_LOCK };
#define MG_WAITING 16
#define MG_BITS 128
#define MG_MOST_PAGES (1ULL << 18)
enum { MAPPED_REGION_FILE = 1, MAPPED_MERGED_FILE = 2 };

/* Direct reads: the granted regular files this process was handed (read-only), kept as
 * descriptors FIRST_DIRECT_FILE on (the seccomp filter allows pread64 of exactly these),
 * and the cVM's open handles that read them, with their positions. */
#define FIRST_DIRECT_FILE 64
#define MOST_DIRECT_FILES 16
#define DIRECT_HANDLES 64
/* The most bytes one read gives, as the intravisor's read hostcall (`LONGEST_READ`). */
#define LONGEST_READ (16ULL << 20)

#if defined(__x86_64__)
enum {
    SYS_close = 3, SYS_mmap = 9, SYS_mprotect = 10, SYS_rt_sigaction = 13, SYS_rt_sigreturn = 15,
    SYS_clone = 56, SYS_exit = 60, SYS_sigaltstack = 131, SYS_prctl = 157, SYS_arch_prctl = 158,
    SYS_gettid = 186, SYS_futex = 202, SYS_set_tid_address = 218, SYS_exit_group = 231,
    SYS_seccomp = 317, SYS_unshare = 272, SYS_prlimit64 = 302, SYS_recvmsg = 47,
    SYS_munmap = 11, SYS_dup3 = 292, SYS_pread64 = 17, SYS_clock_gettime = 228,
    SYS_openat = 257, SYS_write = 1, SYS_setns = 308,
};
#elif defined(__aarch64__)
enum {
    SYS_close = 57, SYS_mmap = 222, SYS_mprotect = 226, SYS_rt_sigaction = 134,
    SYS_rt_sigreturn = 139, SYS_clone = 220, SYS_exit = 93, SYS_sigaltstack = 132, SYS_prctl = 167,
    SYS_gettid = 178, SYS_futex = 98, SYS_set_tid_address = 96, SYS_exit_group = 94,
    SYS_seccomp = 277, SYS_unshare = 97, SYS_prlimit64 = 261, SYS_recvmsg = 212,
    SYS_munmap = 215, SYS_dup3 = 24, SYS_pread64 = 67, SYS_clock_gettime = 113,
    SYS_openat = 56, SYS_write = 64, SYS_setns = 268,
};
#else
#error "cvm-process runs on x86-64 and AArch64 Linux"
#endif
enum { SYS_close_range = 436, SYS_landlock_create_ruleset = 444, SYS_landlock_restrict_self = 446 };

/* The clone flags of a cVM thread; the seccomp filter allows clone with exactly these. */
#define THREAD_FLAGS 0x1250f00UL /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|CHILD_CLEARTID|CHILD_SETTID */

static long syscall6(long number, long a, long b, long c, long d, long e, long f) {
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
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#endif
}
#define SYSCALL(number, a, b, c, d, e, f) \
    syscall6(number, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static volatile uint64_t *gate;
/* The hostcall numbers of futex waits and wakes, from the gate. */
static uint64_t futex_wait_number, futex_wake_number;
/* The clock hostcalls, answered here (`clock.rs`), and where the monotonic one starts. */
static uint64_t clock_monotonic_number, clock_wall_number;
/* Added to this process's monotonic clock, it gives the cVM's (`clock.rs`). */
static int64_t clock_shift;
/* The file hostcalls, from the gate; how many granted files were handed over. */
static uint64_t open_number, read_number, seek_number, close_number, file_size_number, direct_files;
/* By handle: 1 + the index of the handed file it reads (0: not one), and its position. */
static struct { uint64_t file; uint64_t position; } direct[DIRECT_HANDLES];

static _Noreturn void exit_group(int status) {
    for (;;)
        SYSCALL(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

static _Noreturn void exit_thread(void) {
    for (;;)
        SYSCALL(SYS_exit, 0, 0, 0, 0, 0, 0);
}

static _Noreturn void fail(uint64_t stage, long result) {
    gate[H_FAILED_STAGE] = stage;
    gate[H_FAILED_ERRNO] = (uint64_t)-result;
    __atomic_store_n((volatile uint32_t *)&gate[H_STATE], FAILED, __ATOMIC_RELEASE);
    exit_group(127);
}

static volatile uint64_t *slot_at(uint64_t index) {
    return gate + SLOT_OFFSET / 8 + index * SLOT_WORDS;
}

static void futex_wait(volatile uint64_t *word, uint32_t value) {
    SYSCALL(SYS_futex, word, 0 /* FUTEX_WAIT, shared */, value, 0, 0, 0);
}

static void futex_wake(volatile uint64_t *word) {
    SYSCALL(SYS_futex, word, 1 /* FUTEX_WAKE, shared */, 1, 0, 0, 0);
}


int64_t shim_hostcall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

/* The merge map, when the cVM's tenant opted into run-time sharing; else null. */
static volatile uint64_t *merge;
static uint64_t merge_pages, merge_region;

static volatile uint64_t *wanted_bits(void) { return merge + MG_BITS; }
static volatile uint64_t *applied_bits(void) { return merge + MG_BITS + (merge_pages + 63) / 64; }
static volatile uint64_t *zero_bits(void) { return merge + MG_BITS + 2 * ((merge_pages + 63) / 64); }
/* The slot of the merged file each wanted page is mapped from. */
static volatile uint32_t *slots(void) { return (volatile uint32_t *)(merge + MG_BITS + 3 * ((merge_pages + 63) / 64)); }

/* Whether a thread of the cVM is futex-waiting on a word of page `page`. */
static int has_waiter(uint64_t page) {
    for (uint64_t index = 0; index < SLOTS; index++) {
        uint64_t waiting = __atomic_load_n(&merge[MG_WAITING + index], __ATOMIC_SEQ_CST);
        if (waiting && (waiting - merge_region) / 4096 == page)
            return 1;
    }
    return 0;
}

/* Maps page `page` of the region from the cVM's own file again, read-write. */
static void map_own_page(uint64_t address, uint64_t page) {
    long result = SYSCALL(SYS_mmap, address, 4096, 3 /* READ|WRITE */, 0x11 /* SHARED|FIXED */, MAPPED_REGION_FILE,
                          page * 4096);
    if (result < 0 && result > -4096)
        exit_group(125); /* the cVM's own page cannot be mapped again */
}

/* Maps page `page` of the region from the cVM's own file read-only: from then on a
 * write by any thread faults and unshares it. */
static int freeze(uint64_t address, uint64_t page) {
    long result = SYSCALL(SYS_mmap, address, 4096, 1 /* READ */, 0x11 /* SHARED|FIXED */, MAPPED_REGION_FILE,
                          page * 4096);
    return !(result < 0 && result > -4096);
}

/* Where a merged page is read to be compared. */
static uint64_t merge_scratch[512];

/* Freezes page `page` of the region, then says whether it holds what slot `slot` of the
 * merged file holds. The intravisor compared the pages before it proposed them,
 * but a thread may have written since: mapping the merged page over such a write would
 * lose it. */
static int frozen_and_same(uint64_t address, uint64_t page, uint64_t slot) {
    if (!freeze(address, page))
        return 0;
    long result = SYSCALL(SYS_pread64, MAPPED_MERGED_FILE, (uint64_t)merge_scratch, 4096, slot * 4096, 0, 0);
    if (result != 4096)
        return 0;
    const volatile uint64_t *own = (const volatile uint64_t *)address;
    for (int word = 0; word < 512; word++)
        if (own[word] != merge_scratch[word])
            return 0;
    return 1;
}

/* Freezes page `page` of the region, then says whether it holds zeros only. */
static int frozen_and_zero(uint64_t address, uint64_t page) {
    if (!freeze(address, page))
        return 0;
    const volatile uint64_t *own = (const volatile uint64_t *)address;
    for (int word = 0; word < 512; word++)
        if (own[word])
            return 0;
    return 1;
}

/* Maps the pages the intravisor wants merged from the group's file, freezes the pages
 * of zeros it wants to give back, and maps from the region's own file those it gave
 * back to the cVM, until the map's generation is applied. A page a thread waits on is
 * left as it is (the intravisor then keeps it the cVM's own). */
static void apply_merges(void) {
    if (!merge || __atomic_load_n(&merge[MG_WANTED_GENERATION], __ATOMIC_ACQUIRE) ==
                      __atomic_load_n(&merge[MG_APPLIED_GENERATION], __ATOMIC_ACQUIRE))
        return;
    volatile uint32_t *lock = (volatile uint32_t *)&merge[MG_LOCK];
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
        SYSCALL(SYS_futex, lock, 0 /* FUTEX_WAIT */, 1, 0, 0, 0);
    for (;;) {
        uint64_t generation = __atomic_load_n(&merge[MG_WANTED_GENERATION], __ATOMIC_ACQUIRE);
        if (generation == __atomic_load_n(&merge[MG_APPLIED_GENERATION], __ATOMIC_ACQUIRE))
            break;
        volatile uint64_t *wanted = wanted_bits(), *applied = applied_bits();
        for (uint64_t index = 0; index < (merge_pages + 63) / 64; index++) {
            uint64_t want = __atomic_load_n(&wanted[index], __ATOMIC_ACQUIRE), have = applied[index];
            for (uint64_t differ = want ^ have; differ; differ &= differ - 1) {
                uint64_t bit = differ & -differ, page = index * 64 + (uint64_t)__builtin_ctzll(differ);
                uint64_t address = merge_region + page * 4096;
                if (want & bit && has_waiter(page)) {
                    continue;
                } else if (want & bit && __atomic_load_n(&zero_bits()[index], __ATOMIC_ACQUIRE) & bit) {
                    /* A page of zeros to give back: it stays frozen (its own file's page,
                     * read-only) while the intravisor punches it out of the file. */
                    if (frozen_and_zero(address, page))
                        __atomic_fetch_or(&applied[index], bit, __ATOMIC_SEQ_CST);
                    else
                        map_own_page(address, page);
                } else if (want & bit) {
                    uint64_t slot = __atomic_load_n(&slots()[page], __ATOMIC_ACQUIRE);
                    int same = frozen_and_same(address, page, slot);
                    long result = -1;
                    if (same) {
                        __atomic_fetch_or(&applied[index], bit, __ATOMIC_SEQ_CST);
                        result = SYSCALL(SYS_mmap, address, 4096, 1 /* READ */, 0x11 /* SHARED|FIXED */,
                                         MAPPED_MERGED_FILE, slot * 4096);
                    }
                    if (result < 0 && result > -4096) {
                        __atomic_fetch_and(&applied[index], ~bit, __ATOMIC_SEQ_CST);
                        map_own_page(address, page);
                    }
                } else {
                    map_own_page(address, page);
                    __atomic_fetch_and(&applied[index], ~bit, __ATOMIC_SEQ_CST);
                }
            }
        }
        __atomic_store_n(&merge[MG_APPLIED_GENERATION], generation, __ATOMIC_RELEASE);
    }
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
    SYSCALL(SYS_futex, lock, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
}

/* Whether page `page` of the region is merged, or about to be. */
static int page_shared(uint64_t page) {
    uint64_t bit = 1ULL << (page % 64);
    return (__atomic_load_n(&wanted_bits()[page / 64], __ATOMIC_SEQ_CST) & bit) ||
           (__atomic_load_n(&applied_bits()[page / 64], __ATOMIC_SEQ_CST) & bit);
}

static void set_thread_pointer(uint64_t value) {
#if defined(__x86_64__)
    SYSCALL(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, value, 0, 0, 0, 0);
#else
    __asm__ volatile("msr tpidr_el0, %0" : : "r"(value));
#endif
}

/* Alternate signal stacks, one per slot: a cVM that overflows its stack still gets its
 * fault reported. */
#define SIGNAL_STACK 16384
static unsigned char signal_stacks[SLOTS][SIGNAL_STACK] __attribute__((aligned(16)));

static void use_signal_stack(uint64_t slot) {
    struct { void *base; int flags; size_t size; } stack = { signal_stacks[slot], 0, SIGNAL_STACK };
    SYSCALL(SYS_sigaltstack, &stack, 0, 0, 0, 0, 0);
}

/* The pc in the kernel's signal frame. */
static uint64_t frame_pc(void *context) {
#if defined(__x86_64__)
    return *(uint64_t *)((unsigned char *)context + 168); /* uc_mcontext.rip */
#else
    return *(uint64_t *)((unsigned char *)context + 440); /* uc_mcontext.pc */
#endif
}

/* Records the first fault of the cVM and ends its process. */
static void on_fault(int signal, void *info, void *context) {
    uint64_t none = 0;
    if (merge && signal == 11 /* SEGV */ && *(int *)((unsigned char *)info + 8) == 2 /* ACCERR */) {
        /* A write to a merged page: the intravisor gives the cVM its own copy, mapped
         * again here; the write is then made again. */
        uint64_t address = *(uint64_t *)((unsigned char *)info + 16);
        uint64_t page = (address - merge_region) / 4096;
        if (address >= merge_region && page < merge_pages && page_shared(page)) {
            shim_hostcall(UNSHARE, address, 0, 0, 0, 0);
            apply_merges();
            return;
        }
    }
    if (gate && __atomic_compare_exchange_n(&gate[H_FAULT_SIGNAL], &none, (uint64_t)signal, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        unsigned char *bytes = info;
        gate[H_FAULT_CODE] = (uint64_t)(int64_t) * (int *)(bytes + 8);
        gate[H_FAULT_ADDRESS] = *(uint64_t *)(bytes + 16);
        gate[H_FAULT_SYSCALL] = (uint64_t) * (int *)(bytes + 24);
        gate[H_FAULT_PC] = frame_pc(context);
    }
    exit_group(128 + signal);
}

extern void shim_restorer(void);

static long install_fault_handlers(void) {
    static const int signals[] = { 4 /* ILL */, 5 /* TRAP */, 7 /* BUS */, 8 /* FPE */, 11 /* SEGV */,
                                   31 /* SYS */ };
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } action = {
        (void *)on_fault, 0x04000000 /* RESTORER */ | 0x08000000 /* ONSTACK */ | 4 /* SIGINFO */,
        (void *)shim_restorer, ~0ULL,
    };
    for (unsigned index = 0; index < sizeof signals / sizeof signals[0]; index++) {
        long result = SYSCALL(SYS_rt_sigaction, signals[index], &action, 0, 8, 0, 0);
        if (result < 0)
            return result;
    }
    return 0;
}

/* A Landlock domain that handles every file, network and scope right the kernel knows
 * and grants none. Returns the ABI version, or the kernel's error. */
static long deny_all_file_access(void) {
    long abi = SYSCALL(SYS_landlock_create_ruleset, 0, 0, 1 /* VERSION */, 0, 0, 0);
    if (abi <= 0)
        return abi;
    uint64_t attributes[3] = { (1ULL << 13) - 1, 0, 0 };
    if (abi >= 2)
        attributes[0] |= 1ULL << 13; /* REFER */
    if (abi >= 3)
        attributes[0] |= 1ULL << 14; /* TRUNCATE */
    if (abi >= 5)
        attributes[0] |= 1ULL << 15; /* IOCTL_DEV */
    size_t size = 8;
    if (abi >= 4) {
        attributes[1] = 3; /* BIND_TCP | CONNECT_TCP */
        size = 16;
    }
    if (abi >= 6) {
        attributes[2] = 3; /* ABSTRACT_UNIX_SOCKET | SIGNAL */
        size = 24;
    }
    long ruleset = SYSCALL(SYS_landlock_create_ruleset, attributes, size, 0, 0, 0, 0);
    if (ruleset < 0)
        return ruleset;
    long result = SYSCALL(SYS_landlock_restrict_self, ruleset, 0, 0, 0, 0, 0);
    SYSCALL(SYS_close, ruleset, 0, 0, 0, 0, 0);
    return result < 0 ? result : abi;
}

/* The calling thread's slot, found by thread id. */
static volatile uint64_t *own_slot(void) {
    uint32_t tid = (uint32_t)SYSCALL(SYS_gettid, 0, 0, 0, 0, 0, 0);
    for (uint64_t index = 0; index < SLOTS; index++) {
        volatile uint64_t *slot = slot_at(index);
        if (__atomic_load_n((volatile uint32_t *)&slot[S_TID], __ATOMIC_ACQUIRE) == tid)
            return slot;
    }
    return 0;
}

extern long shim_clone(unsigned long flags, uint64_t stack, volatile void *child_tid,
                       void (*function)(uint64_t), uint64_t argument);
extern _Noreturn void shim_enter(uint64_t entry, uint64_t stack_top, uint64_t argument);
int64_t shim_hostcall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

/* A new thread of the cVM, on its own stack: its thread pointer, its signal stack, then
 * the cVM's entry function. */
static void thread_start(uint64_t index) {
    volatile uint64_t *slot = slot_at(index);
    if (slot[S_THREAD_POINTER])
        set_thread_pointer(slot[S_THREAD_POINTER]);
    use_signal_stack(index);
    int64_t (*entry)(uint64_t) = (int64_t(*)(uint64_t))(uintptr_t)slot[S_THREAD_ENTRY];
    int64_t value = entry(slot[S_THREAD_ARGUMENT]);
    shim_hostcall(RETURNED, (uint64_t)value, 0, 0, 0, 0);
    exit_thread();
}

/* The first thread's entry function returned. */
void shim_first_returned(uint64_t value) {
    shim_hostcall(RETURNED, value, 0, 0, 0, 0);
    exit_thread();
}

/* The vDSO's clock_gettime (found by `find_vdso_clock`), or 0: then the system call.
 * A transcode reads the monotonic clock 13,000 times a second; through the vDSO a read
 * is a few nanoseconds and no system call for the seccomp filter to check. */
static long (*vdso_clock_gettime)(long clock, void *time);

/* Nanoseconds on the kernel's clock `clock` (0 if it cannot be read), as the
 * intravisor reads it. */
static uint64_t read_clock(uint64_t clock) {
    struct { long seconds; long nanoseconds; } time = { 0, 0 };
    long status = vdso_clock_gettime ? vdso_clock_gettime((long)clock, &time)
                                     : SYSCALL(SYS_clock_gettime, clock, (uint64_t)&time, 0, 0, 0, 0);
    if (status != 0)
        return 0;
    return (uint64_t)time.seconds * 1000000000ULL + (uint64_t)time.nanoseconds;
}

#if defined(__x86_64__)
#define VDSO_CLOCK_GETTIME "__vdso_clock_gettime"
#else
#define VDSO_CLOCK_GETTIME "__kernel_clock_gettime"
#endif

/* Finds clock_gettime in the vDSO the kernel mapped (the auxiliary vector's
 * AT_SYSINFO_EHDR, after the arguments and the environment on the initial stack),
 * through its dynamic symbol table (DT_HASH gives the count: both architectures' vDSOs
 * have one). The kernel wrote all of it; the process checks it only to stay in bounds
 * of its own expectations. The cVM's own mappings are made with MAP_FIXED_NOREPLACE
 * later, so they cannot replace it. */
static void find_vdso_clock(const uint64_t *initial_stack) {
    const uint64_t *word = initial_stack + 1 + initial_stack[0] + 1;
    while (*word)
        word++; /* the environment */
    const uint8_t *base = 0;
    for (word++; word[0] != 0 /* AT_NULL */; word += 2)
        if (word[0] == 33 /* AT_SYSINFO_EHDR */)
            base = (const uint8_t *)(uintptr_t)word[1];
    if (!base || base[0] != 0x7f || base[1] != 'E' || base[2] != 'L' || base[3] != 'F' || base[4] != 2 /* 64-bit */)
        return;
    const uint8_t *headers = base + *(const uint64_t *)(base + 32);
    uint16_t header_size = *(const uint16_t *)(base + 54), header_count = *(const uint16_t *)(base + 56);
    int64_t bias = -1;
    const uint64_t *dynamic = 0;
    for (uint16_t index = 0; index < header_count; index++) {
        const uint8_t *header = headers + (uint64_t)index * header_size;
        uint32_t type = *(const uint32_t *)header;
        uint64_t offset = *(const uint64_t *)(header + 8), address = *(const uint64_t *)(header + 16);
        if (type == 1 /* PT_LOAD */ && bias == -1)
            bias = (int64_t)((uint64_t)(uintptr_t)base + offset - address);
        else if (type == 2 /* PT_DYNAMIC */)
            dynamic = (const uint64_t *)(uintptr_t)address;
    }
    if (bias == -1 || !dynamic)
        return;
    dynamic = (const uint64_t *)((uintptr_t)dynamic + (uint64_t)bias);
    const uint32_t *hash = 0;
    const uint8_t *symbols = 0;
    const char *names = 0;
    for (; dynamic[0] != 0 /* DT_NULL */; dynamic += 2) {
        uint64_t at = dynamic[1] + (uint64_t)bias;
        if (dynamic[0] == 4 /* DT_HASH */)
            hash = (const uint32_t *)(uintptr_t)at;
        else if (dynamic[0] == 5 /* DT_STRTAB */)
            names = (const char *)(uintptr_t)at;
        else if (dynamic[0] == 6 /* DT_SYMTAB */)
            symbols = (const uint8_t *)(uintptr_t)at;
    }
    if (!hash || !symbols || !names)
        return;
    for (uint32_t index = 0; index < hash[1] /* nchain: the symbol count */; index++) {
        const uint8_t *symbol = symbols + (uint64_t)index * 24;
        uint32_t name = *(const uint32_t *)symbol;
        uint8_t type = symbol[4] & 0xf;
        uint16_t section = *(const uint16_t *)(symbol + 6);
        uint64_t value = *(const uint64_t *)(symbol + 8);
        if (type != 2 /* STT_FUNC */ || section == 0 /* undefined */ || value == 0)
            continue;
        const char *expected = VDSO_CLOCK_GETTIME, *given = names + name;
        while (*expected && *expected == *given)
            expected++, given++;
        if (*expected == 0 && *given == 0) {
            vdso_clock_gettime = (long (*)(long, void *))(uintptr_t)(value + (uint64_t)bias);
            return;
        }
    }
}

/* Why the process has no time namespace of its own (a negative errno), or 0. */
static long time_namespace_error;

static uint64_t no_time_namespace(long error) {
    time_namespace_error = error;
    return 0;
}

/* Takes a time namespace of its own whose monotonic and boot clocks start at the whole
 * seconds below zero that they read now, and enters it (this thread is still the
 * process's only one): cVM code that reads the monotonic clock with the system call
 * its filter allows learns how long ago its process started, not the host's uptime.
 * Returns the seconds taken off (0 where the kernel does not allow it: the clock is
 * then the host's). */
static uint64_t enter_time_namespace(void) {
    long unshared = SYSCALL(SYS_unshare, 0x80 /* CLONE_NEWTIME */, 0, 0, 0, 0, 0);
    if (unshared < 0)
        return no_time_namespace(unshared);
    uint64_t seconds = read_clock(1 /* CLOCK_MONOTONIC */) / 1000000000ULL;
    uint64_t boot_seconds = read_clock(7 /* CLOCK_BOOTTIME */) / 1000000000ULL;
    /* "1 -S 0\n7 -B 0\n": the offsets of CLOCK_MONOTONIC and CLOCK_BOOTTIME. */
    char text[64];
    unsigned length = 0;
    uint64_t values[2] = { seconds, boot_seconds };
    for (unsigned clock = 0; clock < 2; clock++) {
        text[length++] = clock == 0 ? '1' : '7';
        text[length++] = ' ';
        text[length++] = '-';
        char digits[20];
        unsigned count = 0;
        uint64_t value = values[clock];
        do {
            digits[count++] = (char)('0' + value % 10);
            value /= 10;
        } while (value);
        while (count)
            text[length++] = digits[--count];
        text[length++] = ' ';
        text[length++] = '0';
        text[length++] = '\n';
    }
    static const char offsets[] = "/proc/self/timens_offsets";
    static const char children[] = "/proc/self/ns/time_for_children";
    long file = SYSCALL(SYS_openat, -100 /* AT_FDCWD */, (uint64_t)offsets, 1 /* O_WRONLY */, 0, 0, 0);
    if (file < 0)
        return no_time_namespace(file);
    long written = SYSCALL(SYS_write, file, (uint64_t)text, length, 0, 0, 0);
    SYSCALL(SYS_close, file, 0, 0, 0, 0, 0);
    if (written != (long)length)
        return no_time_namespace(written < 0 ? written : -5 /* EIO */);
    long namespace = SYSCALL(SYS_openat, -100, (uint64_t)children, 0 /* O_RDONLY */, 0, 0, 0);
    if (namespace < 0)
        return no_time_namespace(namespace);
    long entered = SYSCALL(SYS_setns, namespace, 0x80, 0, 0, 0, 0);
    SYSCALL(SYS_close, namespace, 0, 0, 0, 0, 0);
    if (entered < 0)
        return no_time_namespace(entered);
    return seconds;
}

/* A futex wait on a word of the cVM: 0 when woken (or interrupted), -EAGAIN when the
 * word did not hold `expected`, -ETIMEDOUT, or the kernel's error for a bad word. A
 * private wait (`private` 1: the cVM's own wakes end it) is the kernel's private futex,
 * keyed by this process and the address: cheaper than a shared one (no page lookup), and
 * unaffected by run-time sharing mapping another page there. A shared one is woken by
 * the intravisor too (the word a thread's end clears). */
static int64_t cvm_futex_wait(uint64_t address, uint64_t expected, uint64_t timeout, uint64_t private) {
    struct { long seconds; long nanoseconds; } time = { (long)(timeout / 1000000000ULL),
                                                       (long)(timeout % 1000000000ULL) };
    if (private == 1) {
        long result = SYSCALL(SYS_futex, address, 128 /* FUTEX_WAIT_PRIVATE */, (uint32_t)expected,
                              timeout == ~0ULL ? 0 : &time, 0, 0);
        return result == -4 /* EINTR */ ? 0 : result;
    }
    /* With run-time sharing, a wait is made on the region's own page (the one wakes
     * meet): the page is unshared first, and not merged while the thread waits. */
    volatile uint64_t *waiting = 0;
    uint64_t page = (address - merge_region) / 4096;
    if (merge && address >= merge_region && page < merge_pages) {
        volatile uint64_t *slot = own_slot();
        if (slot) {
            waiting = &merge[MG_WAITING + (uint64_t)(slot - slot_at(0)) / SLOT_WORDS];
            __atomic_store_n(waiting, address, __ATOMIC_SEQ_CST);
        }
        if (page_shared(page))
            shim_hostcall(UNSHARE, address, 0, 0, 0, 0);
        apply_merges();
    }
    long result = SYSCALL(SYS_futex, address, 0 /* FUTEX_WAIT, shared */, (uint32_t)expected,
                          timeout == ~0ULL ? 0 : &time, 0, 0);
    if (waiting)
        __atomic_store_n(waiting, 0, __ATOMIC_SEQ_CST);
    return result == -4 /* EINTR */ ? 0 : result;
}

/* Makes the merged pages of [address, address + length) the cVM's own again (run-time
 * sharing) before a read into them: the kernel does not write a page mapped read-only. */
static void unshare_range(uint64_t address, uint64_t length) {
    uint64_t end = address + length, region_end = merge_region + merge_pages * 4096;
    if (!merge || end < address)
        return;
    uint64_t first = address < merge_region ? merge_region : address & ~4095ULL;
    for (uint64_t at = first; at < end && at < region_end; at += 4096)
        if (page_shared((at - merge_region) / 4096))
            shim_hostcall(UNSHARE, at, 0, 0, 0, 0);
    apply_merges();
}

/* A read hostcall of a handed granted file, made here: pread64 at the handle's position,
 * at most LONGEST_READ bytes, into the cVM's own memory (the kernel checks the buffer:
 * -EFAULT, as the intravisor answers). Other errors answer -EIO, as the intravisor's.
 * Threads that read one handle at once may read the same bytes, each into its own
 * buffer. */
static int64_t direct_read(uint64_t handle, uint64_t address, uint64_t length) {
    uint64_t file = direct[handle].file - 1;
    if (file >= direct_files)
        return -9; /* EBADF */
    if (length > LONGEST_READ)
        length = LONGEST_READ;
    long result = -14;
    /* A merge applied by another thread between the unsharing and the read faults it:
     * the pages are unshared again. */
    for (int attempt = 0; attempt < 3; attempt++) {
        unshare_range(address, length);
        result = SYSCALL(SYS_pread64, FIRST_DIRECT_FILE + file, address, length, direct[handle].position, 0, 0);
        if (result != -14 /* EFAULT */ || !merge)
            break;
    }
    if (result < 0)
        return result == -14 ? -14 : -5 /* EIO */;
    direct[handle].position += (uint64_t)result;
    return result;
}

/* A seek hostcall of a handed granted file: `whence` 0 from its start, 1 from its
 * position, 2 from its end (its size asked of the intravisor). A position below 0 or
 * past the largest file offset answers -EINVAL, as the intravisor's. */
static int64_t direct_seek(uint64_t handle, int64_t offset, uint64_t whence) {
    int64_t base, target;
    if (whence == 0)
        base = 0;
    else if (whence == 1)
        base = (int64_t)direct[handle].position;
    else if (whence == 2)
        base = shim_hostcall(file_size_number, handle, 0, 0, 0, 0);
    else
        return -22;
    if (base < 0)
        return base;
    if (__builtin_add_overflow(base, offset, &target) || target < 0)
        return -22;
    direct[handle].position = (uint64_t)target;
    return target;
}

int64_t shim_hostcall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4) {
    if ((number == read_number || number == seek_number || number == close_number) && a0 < DIRECT_HANDLES &&
        direct[a0].file) {
        if (number == read_number)
            return direct_read(a0, a1, a2);
        if (number == seek_number)
            return direct_seek(a0, (int64_t)a1, a2);
        direct[a0].file = 0; /* closed here, then by the intravisor */
    }
    if (number == futex_wait_number)
        return cvm_futex_wait(a0, a1, a2, a3);
    if (number == futex_wake_number)
        return SYSCALL(SYS_futex, a0, a2 == 1 ? 129 /* FUTEX_WAKE_PRIVATE */ : 1 /* FUTEX_WAKE, shared */,
                       a1 > 0x7fffffff ? 0x7fffffff : a1, 0, 0, 0);
    if (number == clock_monotonic_number) {
        int64_t now = (int64_t)read_clock(1 /* CLOCK_MONOTONIC */) + clock_shift;
        return now > 0 ? now : 0;
    }
    if (number == clock_wall_number)
        return (int64_t)read_clock(0 /* CLOCK_REALTIME */);
    volatile uint64_t *slot = own_slot();
    if (!slot)
        return -38; /* ENOSYS: a thread the intravisor did not start has no slot */
    slot[S_NUMBER] = number;
    slot[S_ARGUMENTS] = a0;
    slot[S_ARGUMENTS + 1] = a1;
    slot[S_ARGUMENTS + 2] = a2;
    slot[S_ARGUMENTS + 3] = a3;
    slot[S_ARGUMENTS + 4] = a4;
    volatile uint32_t *state = (volatile uint32_t *)&slot[S_STATE];
    __atomic_store_n(state, REQUEST, __ATOMIC_RELEASE);
    futex_wake(&slot[S_STATE]);
    /* The answer is waited for asleep. Spinning for it first (256 pauses) took the core
     * the intravisor's serving thread needed whenever every core was busy: 8 transcodes
     * on 2 cores used 7 % more processor time and ran 5 % longer, and one alone ran no
     * faster. */
    for (;;) {
        uint32_t now = __atomic_load_n(state, __ATOMIC_ACQUIRE);
        if (now == RESPONSE)
            break;
        futex_wait(&slot[S_STATE], now);
    }
    int64_t result = (int64_t)slot[S_RESULT];
    uint64_t action = slot[S_ACTION];
    uint64_t value = slot[S_VALUE];
    __atomic_store_n(state, IDLE, __ATOMIC_RELEASE);
    if (number == open_number && result >= 0 && result < DIRECT_HANDLES)
        direct[result].file = 0;
    /* Pages the intravisor gave back (it wrote into them) are mapped again before the
     * cVM reads them. */
    apply_merges();
    switch (action) {
    case ACTION_SET_THREAD_POINTER:
        set_thread_pointer(value);
        return 0;
    case ACTION_START_THREAD: {
        if (value >= SLOTS)
            return -11;
        volatile uint64_t *child = slot_at(value);
        long made = shim_clone(THREAD_FLAGS, child[S_THREAD_STACK], &child[S_TID], thread_start, value);
        if (made < 0) {
            __atomic_store_n((volatile uint32_t *)&child[S_STATE], ABANDONED, __ATOMIC_RELEASE);
            futex_wake(&child[S_STATE]);
            return -11; /* EAGAIN */
        }
        return result;
    }
    case ACTION_EXIT_THREAD:
        exit_thread();
    case ACTION_READ_DIRECTLY:
        /* A granted file opened: this process reads it from the descriptor handed over. */
        if (number == open_number && result >= 0 && result < DIRECT_HANDLES && value < direct_files) {
            direct[result].position = 0;
            direct[result].file = value + 1;
        }
        return result;
    default:
        return result;
    }
}

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl shim_restorer\n"
        "shim_restorer:\n"
        "  mov $15, %eax\n"
        "  syscall\n"
        "  hlt\n"
        /* long shim_clone(flags: rdi, stack: rsi, child_tid: rdx, function: rcx, argument: r8) */
        ".globl shim_clone\n"
        "shim_clone:\n"
        "  sub $16, %rsi\n"
        "  mov %rcx, (%rsi)\n"
        "  mov %r8, 8(%rsi)\n"
        "  mov %rdx, %r10\n"
        "  xor %edx, %edx\n"
        "  xor %r8d, %r8d\n"
        "  mov $56, %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  xor %ebp, %ebp\n"
        "  call *%rax\n"
        "  hlt\n"
        "1: ret\n"
        /* shim_enter(entry: rdi, stack_top: rsi, argument: rdx): the cVM's first thread */
        ".globl shim_enter\n"
        "shim_enter:\n"
        "  mov %rsi, %rsp\n"
        "  mov %rdi, %rax\n"
        "  mov %rdx, %rdi\n"
        "  xor %ebp, %ebp\n"
        "  xor %ebx, %ebx\n"
        "  xor %esi, %esi\n"
        "  xor %edx, %edx\n"
        "  xor %ecx, %ecx\n"
        "  xor %r8d, %r8d\n"
        "  xor %r9d, %r9d\n"
        "  xor %r10d, %r10d\n"
        "  xor %r11d, %r11d\n"
        "  xor %r12d, %r12d\n"
        "  xor %r13d, %r13d\n"
        "  xor %r14d, %r14d\n"
        "  xor %r15d, %r15d\n"
        "  call *%rax\n"
        "  mov %rax, %rdi\n"
        "  call shim_first_returned\n"
        "  hlt\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call shim_main\n"
        "  hlt\n");
#else
__asm__(".text\n"
        ".globl shim_restorer\n"
        "shim_restorer:\n"
        "  mov x8, #139\n"
        "  svc #0\n"
        "  brk #0\n"
        ".globl shim_clone\n"
        "shim_clone:\n"
        "  stp x3, x4, [x1, #-16]!\n"
        "  mov x5, x2\n"
        "  mov x2, xzr\n"
        "  mov x3, xzr\n"
        "  mov x4, x5\n"
        "  mov x8, #220\n"
        "  svc #0\n"
        "  cbnz x0, 1f\n"
        "  ldp x3, x0, [sp], #16\n"
        "  mov x29, xzr\n"
        "  blr x3\n"
        "  brk #0\n"
        "1: ret\n"
        ".globl shim_enter\n"
        "shim_enter:\n"
        "  mov sp, x1\n"
        "  mov x16, x0\n"
        "  mov x0, x2\n"
        "  mov x1, xzr\n"
        "  mov x2, xzr\n"
        "  mov x29, xzr\n"
        "  mov x30, xzr\n"
        "  blr x16\n"
        "  bl shim_first_returned\n"
        "  brk #0\n"
        ".globl _start\n"
        "_start:\n"
        "  mov x29, xzr\n"
        "  mov x0, sp\n"
        "  and x1, x0, #-16\n"
        "  mov sp, x1\n"
        "  bl shim_main\n"
        "  brk #0\n");
#endif

/* The most descriptors a cVM is handed: gate, region, shared objects, with run-time
 * sharing the merged file and the merge map, then the granted files it reads itself. */
#define MOST_FILES (5 + MOST_DIRECT_FILES)

/* Receives the cVM's descriptors from the socket on descriptor 0 (gate, region, shared
 * objects, the rest as the gate says); returns how many, or the error. */
static long receive_files(int files[MOST_FILES]) {
    char byte;
    struct { void *base; size_t length; } vector = { &byte, 1 };
    /* A control message: length, level, type, then the descriptors. */
    union {
        struct { size_t length; int level; int type; int files[MOST_FILES]; } message;
        uint64_t align[2 + MOST_FILES / 2];
    } control;
    struct {
        void *name; unsigned name_length; void *vectors; size_t vector_count;
        void *control; size_t control_length; int flags;
    } header = { 0, 0, &vector, 1, &control, sizeof control, 0 };
    long result = SYSCALL(SYS_recvmsg, 0, &header, 0x40000000 /* MSG_CMSG_CLOEXEC */, 0, 0, 0);
    if (result <= 0)
        return result < 0 ? result : -5 /* EIO: the intravisor went away */;
    size_t count = (control.message.length - 16) / sizeof(int);
    if (header.control_length < 16 + 3 * sizeof(int) || control.message.level != 1 /* SOL_SOCKET */ ||
        control.message.type != 1 /* SCM_RIGHTS */ || count < 3 || count > MOST_FILES)
        return -22;
    for (size_t index = 0; index < MOST_FILES; index++)
        files[index] = index < count ? control.message.files[index] : -1;
    return (long)count;
}

/* Whether the process was started in the network namespace all cVM processes share
 * (its first argument says so): then it takes every namespace but a network one. */
static int in_shared_network(const uint64_t *initial_stack) {
    const char *const *arguments = (const char *const *)(initial_stack + 1);
    if (initial_stack[0] < 2)
        return 0;
    const char *expected = SHARED_NETWORK_ARGUMENT, *given = arguments[1];
    while (*expected && *expected == *given)
        expected++, given++;
    return *expected == 0 && *given == 0;
}

_Noreturn void shim_main(const uint64_t *initial_stack) {
    SYSCALL(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 9 /* SIGKILL */, 0, 0, 0, 0);
    uint64_t no_core[2] = { 0, 0 };
    SYSCALL(SYS_prlimit64, 0, 4 /* RLIMIT_CORE */, no_core, 0, 0, 0);
    find_vdso_clock(initial_stack);
    long flags = in_shared_network(initial_stack) ? NAMESPACE_FLAGS & ~CLONE_NEWNET : NAMESPACE_FLAGS;
    long namespaces = SYSCALL(SYS_unshare, flags, 0, 0, 0, 0, 0);
    uint64_t clock_seconds_taken_off = enter_time_namespace();
    int files[MOST_FILES];
    long received = receive_files(files);
    if (received < 0)
        exit_group(126);
    long result = SYSCALL(SYS_mmap, 0, SLOT_OFFSET + SLOTS * SLOT_WORDS * 8, 3 /* READ|WRITE */,
                          1 /* SHARED */, files[0], 0);
    if (result < 0 && result > -4096)
        exit_group(126);
    gate = (volatile uint64_t *)result;
    if (gate[H_MAGIC] != GATE_MAGIC || gate[H_VERSION] != GATE_VERSION || gate[H_NAMESPACE_FLAGS] != NAMESPACE_FLAGS)
        fail(STAGE_LAYOUT, -22);
    gate[H_NAMESPACES] = namespaces < 0 ? (uint64_t)-namespaces : 0;
    gate[H_TIME_NAMESPACE] = (uint64_t)-time_namespace_error;
    if (gate[H_CPU_SECONDS]) {
        /* SIGXCPU at the limit ends the process (no handler); the hard limit a second
         * later kills it whatever it does. */
        uint64_t cpu[2] = { gate[H_CPU_SECONDS], gate[H_CPU_SECONDS] + 1 };
        result = SYSCALL(SYS_prlimit64, 0, 0 /* RLIMIT_CPU */, cpu, 0, 0, 0);
        if (result < 0)
            fail(STAGE_LIMITS, result);
    }
    uint64_t mappings = gate[H_MAPPING_COUNT];
    if (mappings > MOST_MAPPINGS || gate[H_FILTER_LENGTH] > MOST_FILTER)
        fail(STAGE_LAYOUT, -22);
    for (uint64_t index = 0; index < mappings; index++) {
        volatile uint64_t *mapping = gate + MAPPING_OFFSET / 8 + index * MAPPING_WORDS;
        if (mapping[M_KIND] == KIND_PROTECT) {
            result = SYSCALL(SYS_mprotect, mapping[M_START], mapping[M_LENGTH], mapping[M_PROTECTION], 0, 0, 0);
        } else {
            if (mapping[M_FILE] != FILE_REGION && mapping[M_FILE] != FILE_SHARED)
                fail(STAGE_LAYOUT, -22);
            result = SYSCALL(SYS_mmap, mapping[M_START], mapping[M_LENGTH], mapping[M_PROTECTION],
                             0x100001 /* SHARED | FIXED_NOREPLACE */, files[mapping[M_FILE]],
                             mapping[M_OFFSET]);
            if (result >= 0 && (uint64_t)result != mapping[M_START])
                result = -17; /* EEXIST: an old kernel placed it elsewhere */
        }
        if (result < 0)
            fail(STAGE_MAP, result);
    }
    direct_files = gate[H_DIRECT_FILES];
    uint64_t given = (uint64_t)received - direct_files;
    if (direct_files > MOST_DIRECT_FILES || direct_files > (uint64_t)received || (given != 3 && given != 5))
        fail(STAGE_LAYOUT, -22);
    for (uint64_t index = 0; index < direct_files; index++)
        if (SYSCALL(SYS_dup3, files[given + index], FIRST_DIRECT_FILE + index, 0x80000 /* CLOEXEC */, 0, 0, 0) < 0)
            fail(STAGE_MAP, -9);
    if (given == 5) {
        /* Run-time sharing: the merge map, and the two files its pages come from, kept
         * as descriptors 1 and 2. */
        result = SYSCALL(SYS_mmap, 0, 4096, 3 /* READ|WRITE */, 1 /* SHARED */, files[4], 0);
        if (result < 0 && result > -4096)
            fail(STAGE_MAP, result);
        volatile uint64_t *head = (volatile uint64_t *)result;
        merge_pages = head[MG_PAGES];
        merge_region = head[MG_REGION_START];
        SYSCALL(SYS_munmap, head, 4096, 0, 0, 0, 0);
        if (merge_pages > MG_MOST_PAGES)
            fail(STAGE_LAYOUT, -22);
        uint64_t size = ((MG_BITS + 3 * ((merge_pages + 63) / 64)) * 8 + merge_pages * 4 + 4095) & ~4095ULL;
        result = SYSCALL(SYS_mmap, 0, size, 3 /* READ|WRITE */, 1 /* SHARED */, files[4], 0);
        if (result < 0 && result > -4096)
            fail(STAGE_MAP, result);
        merge = (volatile uint64_t *)result;
        if (SYSCALL(SYS_dup3, files[1], MAPPED_REGION_FILE, 0x80000 /* CLOEXEC */, 0, 0, 0) < 0 ||
            SYSCALL(SYS_dup3, files[3], MAPPED_MERGED_FILE, 0x80000, 0, 0, 0) < 0)
            fail(STAGE_MAP, -9);
        SYSCALL(SYS_close_range, 0, 0, 0, 0, 0, 0);
        SYSCALL(SYS_close_range, 3, FIRST_DIRECT_FILE - 1, 0, 0, 0, 0);
    } else {
        SYSCALL(SYS_close_range, 0, FIRST_DIRECT_FILE - 1, 0, 0, 0, 0);
    }
    SYSCALL(SYS_close_range, FIRST_DIRECT_FILE + direct_files, ~0U, 0, 0, 0, 0);
    futex_wait_number = gate[H_FUTEX_WAIT];
    futex_wake_number = gate[H_FUTEX_WAKE];
    clock_monotonic_number = gate[H_CLOCK_MONOTONIC];
    clock_wall_number = gate[H_CLOCK_WALL];
    open_number = gate[H_OPEN];
    read_number = gate[H_READ];
    seek_number = gate[H_SEEK];
    close_number = gate[H_CLOSE];
    file_size_number = gate[H_FILE_SIZE];
    /* The intravisor's base on this namespace's monotonic clock (which may lie below its
     * zero: the shift is then negative). */
    clock_shift = (int64_t)(clock_seconds_taken_off * 1000000000ULL) - (int64_t)gate[H_CLOCK_BASE];
    *(volatile uint64_t *)(uintptr_t)gate[H_BOOT_HOSTCALL_FIELD] = (uint64_t)(uintptr_t)shim_hostcall;
#if defined(__x86_64__)
    SYSCALL(SYS_arch_prctl, 0x1001 /* ARCH_SET_GS */, gate[H_CLS_TABLE], 0, 0, 0, 0);
#else
    __asm__ volatile("msr tpidr_el0, %0" : : "r"(gate[H_CLS_TABLE] - 8));
#endif
    volatile uint64_t *first = slot_at(0);
    first[S_TID] = (uint64_t)SYSCALL(SYS_gettid, 0, 0, 0, 0, 0, 0);
    SYSCALL(SYS_set_tid_address, &first[S_TID], 0, 0, 0, 0, 0);
    use_signal_stack(0);
    result = install_fault_handlers();
    if (result < 0)
        fail(STAGE_SIGNALS, result);
    result = SYSCALL(SYS_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0);
    if (result < 0)
        fail(STAGE_NO_NEW_PRIVS, result);
    gate[H_LANDLOCK] = (uint64_t)deny_all_file_access();
    struct { unsigned short length; const void *filter; } program = {
        (unsigned short)gate[H_FILTER_LENGTH], (const void *)(gate + FILTER_OFFSET / 8),
    };
    result = SYSCALL(SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &program, 0, 0, 0);
    if (result < 0)
        fail(STAGE_SECCOMP, result);
    if (__atomic_load_n((volatile uint32_t *)&gate[H_STATE], __ATOMIC_ACQUIRE) != GO)
        fail(STAGE_LAYOUT, -22);
    shim_enter(gate[H_ENTRY], gate[H_STACK_TOP], gate[H_ARGUMENT]);
}
