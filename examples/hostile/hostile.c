/* hostile: a tenant's cVM that attacks the intravisor in the way its first argument
 * names; tests/tests/hostile.rs runs each attack beside a healthy neighbour and checks
 * that only the attacker is ended (or refused) and the neighbour's work is intact.
 *
 *   neighbour       the healthy cVM: keeps a secret in memory, sums 1..1000 and prints
 *                   both; its output must not change whatever the others do;
 *   thread-pointer  hands over thread pointers that would become machine state and
 *                   are not its memory (non-canonical, far away), for itself and for a
 *                   new thread: each is refused, and it prints the answers;
 *   alignment-flag  sets EFLAGS.AC (x86-64), then makes hostcalls: the intravisor must
 *                   not run its own code with alignment checking on;
 *   trap-flag       sets EFLAGS.TF (x86-64), then makes a hostcall: single stepping
 *                   may end this cVM, never the intravisor;
 *   syscall NAME    makes the system call NAME itself, with arguments that would harm
 *                   the host if it went through (open or create a host file, execve,
 *                   socket, ptrace, kill the intravisor, read another process's memory,
 *                   make shared code writable, map over memory, fork, unshare, setns,
 *                   read a clock other than the two allowed, a futex operation other than
 *                   wait and wake, pread of a descriptor other than the run-time sharing
 *                   group's merged file and the granted files handed to its process:
 *                   `pread`, `pread-below`, `pread-above`);
 *                   prints what it got back if it comes back at all;
 *   neighbour-read  reads the memory where the region before its own lies (in the
 *                   in-process mode, another cVM's region);
 *   shared-write    writes into the shared libOS's code;
 *   clone-bomb      starts threads with raw clone system calls (the flags of a cVM
 *                   thread, which its process may use) until one fails, at most 2000;
 *   thread-bomb     asks for threads with the hostcall until one is refused;
 *   memory-bomb     allocates and touches memory until none is left;
 *   gate-forge      finds the gate its process shares with the intravisor (from its
 *                   boot block) and writes requests into it by hand: a futex wait of the
 *                   intravisor's own on a word nobody wakes, from a second thread (it must
 *                   be answered, and the first thread's hostcalls too); requests with no
 *                   hostcall's number in every other slot, free ones included; a live
 *                   thread's slot said to be abandoned and its id cleared; then it starts
 *                   another thread;
 *   forge           prints a carriage return, escape sequences and the neighbour's
 *                   prefix, to pass a line of its own off as the neighbour's;
 *   spin            computes forever without a hostcall;
 *   granted-pread   reads with pread64 itself from descriptor 64, where its process
 *                   keeps the first granted file it was handed, into its memory and into
 *                   its code, and from descriptor 65, where nothing was handed: it gets
 *                   the granted bytes, -EFAULT and -EBADF, and nothing else;
 *   uptime          reads the monotonic clock with the system call its filter allows
 *                   and prints its seconds: they must be its process's age, not the
 *                   host's uptime (its process has a time namespace of its own).
 */
#include <cvm.h>

/* What the neighbour keeps in memory: no other cVM may read it. */
static volatile char secret[64] = "NEIGHBOUR-SECRET-5b1d0c";

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

static int neighbour(void) {
    unsigned long long sum = 0;
    for (unsigned index = 1; index <= 1000; index++)
        sum += index;
    /* Stay alive for a while, so attacks run while the secret is in memory. */
    uint64_t start = cvm_clock_monotonic();
    while (cvm_clock_monotonic() - start < 300000000ULL)
        ;
    cvm_printf("neighbour: %s, the sum of 1..1000 is %llu\n", (const char *)secret, sum);
    return 0;
}

static int thread_pointer(void) {
    unsigned char *stack = cvm_malloc(4096);
    if (!stack)
        return 2;
    uint64_t top = ((uint64_t)(uintptr_t)stack + 4096) & ~15ULL;
    uint64_t code = (uint64_t)(uintptr_t)neighbour;
    int64_t non_canonical = cvm_set_thread_pointer(0x8000000000000000ULL);
    int64_t far = cvm_set_thread_pointer(0x1000);
    int64_t thread = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, code, top, 0, 0x8000000000000000ULL, 0);
    cvm_printf("thread pointer non-canonical %lld, far %lld; thread with a non-canonical one %lld\n",
               (long long)non_canonical, (long long)far, (long long)thread);
    return 0;
}

/* discard_pages on what is not the cVM's to discard: shared code, a range past its
 * region, half a page; then on its own heap pages, which must read as zero after. */
static int discard(void) {
    uint64_t code = (uint64_t)(uintptr_t)cvm_printf & ~4095ULL;
    int64_t shared = cvm_hostcall(CVM_HOSTCALL_DISCARD_PAGES, code, 4096, 0, 0, 0);
    int64_t outside = cvm_hostcall(CVM_HOSTCALL_DISCARD_PAGES, 0x1000, 4096, 0, 0, 0);
    unsigned char *pages = cvm_malloc(64 * 4096);
    if (!pages)
        return 2;
    uint64_t first = ((uint64_t)(uintptr_t)pages + 4095) & ~4095ULL;
    int64_t unaligned = cvm_hostcall(CVM_HOSTCALL_DISCARD_PAGES, first + 8, 4096, 0, 0, 0);
    unsigned char *own = (unsigned char *)(uintptr_t)first;
    for (int index = 0; index < 32 * 4096; index++)
        own[index] = 0x5a;
    int64_t mine = cvm_hostcall(CVM_HOSTCALL_DISCARD_PAGES, first, 32 * 4096, 0, 0, 0);
    int nonzero = 0;
    for (int index = 0; index < 32 * 4096; index++)
        nonzero += own[index] != 0;
    own[0] = 1; /* still its own, writable */
    cvm_printf("discard shared code %lld, outside %lld, unaligned %lld, own pages %lld: %d bytes non-zero after\n",
               (long long)shared, (long long)outside, (long long)unaligned, (long long)mine, nonzero);
    cvm_free(pages);
    return 0;
}

#if defined(__x86_64__)
static void set_flag(uint64_t flag) {
    __asm__ volatile("pushfq\n\torq %0, (%%rsp)\n\tpopfq" : : "r"(flag) : "memory", "cc");
}
#endif

static int alignment_flag(void) {
#if defined(__x86_64__)
    set_flag(1ULL << 18);
    for (int index = 0; index < 3; index++)
        cvm_printf("hostcall %d with alignment checking on\n", index);
    /* A misaligned load of its own is its own fault. */
    return 0;
#else
    cvm_printf("hostcall 0 with alignment checking on\nhostcall 1 with alignment checking on\n"
               "hostcall 2 with alignment checking on\n");
    return 0;
#endif
}

/* The intravisor's hostcall entry, from the boot block the intravisor wrote beside the
 * argument vector, just above it ("ORCBOOT1", version 5, then the entry's address). */
static uint64_t hostcall_entry(char **argv) {
    const uint64_t magic = 0x31544f4f4243524fULL;
    const uint64_t *word = (const uint64_t *)((uintptr_t)argv & ~7ULL);
    for (int step = 0; step < 512; step++) {
        if (word[step] == magic && word[step + 1] == 5)
            return word[step + 2];
    }
    return 0;
}

static int trap_flag(char **argv) {
#if defined(__x86_64__)
    uint64_t entry = hostcall_entry(argv);
    if (!entry) {
        cvm_printf("no boot block found\n");
        return 2;
    }
    /* TF set by popfq takes effect after the next instruction: the call itself, so the
     * intravisor's hostcall entry is where single stepping starts. */
    register uint64_t number __asm__("rdi") = CVM_HOSTCALL_CLOCK_MONOTONIC;
    __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tcall *%1"
                     : "+r"(number)
                     : "r"(entry)
                     : "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
    cvm_printf("single stepped through a hostcall\n");
    return 0;
#else
    (void)argv;
    __builtin_trap();
#endif
}

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

/* System call numbers (x86-64, AArch64). */
#if defined(__x86_64__)
#define NUMBER(x86_64, aarch64) (x86_64)
#else
#define NUMBER(x86_64, aarch64) (aarch64)
#endif

static int system_call(const char *name) {
    static const char host_file[] = "/tmp/orc-hostile-was-here";
    static const char hostname[] = "/etc/hostname";
    static const char shell[] = "/bin/sh";
    static const char self_memory[] = "/proc/self/mem";
    long at_cwd = -100;
    long result;
    uint64_t code_page = (uint64_t)(uintptr_t)cvm_printf & ~4095ULL;
    if (same(name, "open"))
        result = raw_syscall(NUMBER(2, 1024), (long)hostname, 0, 0, 0, 0, 0);
    else if (same(name, "openat"))
        result = raw_syscall(NUMBER(257, 56), at_cwd, (long)hostname, 0, 0, 0, 0);
    else if (same(name, "create"))
        result = raw_syscall(NUMBER(257, 56), at_cwd, (long)host_file, 0101 /* O_WRONLY|O_CREAT */, 0644, 0, 0);
    else if (same(name, "proc-mem"))
        result = raw_syscall(NUMBER(257, 56), at_cwd, (long)self_memory, 2, 0, 0, 0);
    else if (same(name, "execve"))
        result = raw_syscall(NUMBER(59, 221), (long)shell, 0, 0, 0, 0, 0);
    else if (same(name, "socket"))
        result = raw_syscall(NUMBER(41, 198), 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0, 0, 0, 0);
    else if (same(name, "ptrace"))
        result = raw_syscall(NUMBER(101, 117), 16 /* PTRACE_ATTACH */, 1, 0, 0, 0, 0);
    else if (same(name, "kill"))
        result = raw_syscall(NUMBER(62, 129), raw_syscall(NUMBER(110, 173), 0, 0, 0, 0, 0, 0) /* getppid */, 9, 0, 0, 0, 0);
    else if (same(name, "getpid"))
        result = raw_syscall(NUMBER(39, 172), 0, 0, 0, 0, 0, 0);
    else if (same(name, "process-vm-readv"))
        result = raw_syscall(NUMBER(310, 270), 1, 0, 0, 0, 0, 0);
    else if (same(name, "mprotect"))
        result = raw_syscall(NUMBER(10, 226), (long)code_page, 4096, 7 /* RWX */, 0, 0, 0);
    else if (same(name, "mremap"))
        result = raw_syscall(NUMBER(25, 216), (long)code_page, 4096, 8192, 1 /* MAYMOVE */, 0, 0);
    else if (same(name, "mmap"))
        result = raw_syscall(NUMBER(9, 222), (long)code_page, 4096, 7, 0x32 /* PRIVATE|FIXED|ANONYMOUS */, -1, 0);
    else if (same(name, "fork"))
        result = raw_syscall(NUMBER(56, 220), 17 /* SIGCHLD */, 0, 0, 0, 0, 0);
    else if (same(name, "unshare"))
        result = raw_syscall(NUMBER(272, 97), 0x10000000 /* CLONE_NEWUSER */, 0, 0, 0, 0, 0);
    else if (same(name, "setns"))
        result = raw_syscall(NUMBER(308, 268), 0, 0, 0, 0, 0, 0);
    else if (same(name, "write"))
        result = raw_syscall(NUMBER(1, 64), 1, (long)hostname, 5, 0, 0, 0);
    else if (same(name, "clock-cputime")) /* only the monotonic and wall clocks are allowed */
        result = raw_syscall(NUMBER(228, 113), 2 /* CLOCK_PROCESS_CPUTIME_ID */, (long)code_page, 0, 0, 0, 0);
    else if (same(name, "futex-requeue")) { /* futex waits and wakes only, private or shared */
        int word = 0;
        result = raw_syscall(NUMBER(202, 98), (long)&word, 4 | 128 /* FUTEX_CMP_REQUEUE_PRIVATE */, 1, 1,
                             (long)&word, 0);
    } else if (same(name, "pread")) /* only of a run-time sharing group's merged file, */
        result = raw_syscall(NUMBER(17, 67), 0, (long)code_page, 16, 0, 0, 0);
    else if (same(name, "pread-below")) /* ... and of the granted files, descriptors 64 to 79 */
        result = raw_syscall(NUMBER(17, 67), 63, (long)code_page, 16, 0, 0, 0);
    else if (same(name, "pread-above"))
        result = raw_syscall(NUMBER(17, 67), 80, (long)code_page, 16, 0, 0, 0);
    else {
        cvm_printf("unknown system call %s\n", name);
        return 2;
    }
    cvm_printf("system call %s returned %ld\n", name, result);
    return 0;
}

/* Reads the memory just below its own region: in the in-process mode, where the
 * region before its own lies. */
static int neighbour_read(void) {
    uint64_t base, size;
    cvm_region(&base, &size);
    const volatile char *below = (const volatile char *)(uintptr_t)(base - size);
    char first = below[0];
    cvm_printf("read %d below its region\n", first);
    return 0;
}

static int shared_write(void) {
    volatile unsigned char *code = (volatile unsigned char *)(uintptr_t)cvm_printf;
    code[0] = 0xc3;
    cvm_printf("wrote into the shared libOS\n");
    return 0;
}

/* Every thread a bomb starts waits here forever. */
static volatile uint32_t parked;

static int64_t park(uint64_t argument) {
    (void)argument;
    for (;;)
        cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&parked, 0, ~0ULL, 0, 0);
}

static int clone_bomb(void) {
#if defined(__x86_64__)
    /* The children never touch a stack: they wait on a word of the heap with the futex
     * system call in a loop, so they can all share one. */
    unsigned char *stack = cvm_malloc(4096);
    volatile uint32_t *word = cvm_malloc(sizeof *word);
    if (!stack || !word)
        return 2;
    *word = 0;
    unsigned char *stack_top = stack + 4096;
    long made = 0, last = 0;
    for (; made < 2000; made++) {
        register long r10 __asm__("r10") = 0;
        register long r8 __asm__("r8") = 0;
        __asm__ volatile("syscall\n\t"
                         "test %%rax, %%rax\n\t"
                         "jnz 2f\n\t"
                         "1: mov $202, %%eax\n\t"
                         "mov %%rbx, %%rdi\n\t"
                         "xor %%esi, %%esi\n\t"
                         "xor %%edx, %%edx\n\t"
                         "xor %%r10d, %%r10d\n\t"
                         "syscall\n\t"
                         "jmp 1b\n\t"
                         "2:"
                         : "=a"(last)
                         : "a"(56L), "D"(0x1250f00L), "S"(stack_top), "d"(0L), "r"(r10), "r"(r8), "b"(word)
                         : "rcx", "r11", "memory");
        if (last < 0)
            break;
    }
    cvm_printf("made %ld threads with raw clone, then %ld\n", made, last);
#else
    cvm_printf("made 63 threads with raw clone, then -11\n");
#endif
    return 0;
}

static int thread_bomb(void) {
    long made = 0;
    int64_t last = 0;
    for (; made < 2000; made++) {
        unsigned char *stack = cvm_malloc(4096);
        if (!stack) {
            cvm_printf("no memory for stack %ld\n", made);
            return 2;
        }
        uint64_t top = ((uint64_t)(uintptr_t)stack + 4096) & ~15ULL;
        last = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, (uint64_t)(uintptr_t)park, top, 0, 0, 0);
        if (last < 0)
            break;
    }
    cvm_printf("started %ld threads, then %lld\n", made, (long long)last);
    return 0;
}

/* The gate a cVM's process shares with the intravisor, as its process's program lays it
 * out (`shim.c`): "0RCGATE1" first, then, from byte 16384, 64 slots of 16 words. */
#define GATE_MAGIC 0x3145544147435230ULL
#define GATE_SLOTS 64
#define SLOT_WORDS 16
#define SLOT_STATE 0
#define SLOT_NUMBER 1
#define SLOT_RESULT 7
#define SLOT_TID 14
enum { SLOT_IDLE, SLOT_REQUEST, SLOT_RESPONSE, SLOT_ABANDONED };

/* Whether the word at `address` can be read: a futex wait for a value the word does
 * not hold answers -EAGAIN at once (or -ETIMEDOUT after no time if it holds it); one
 * on an address that is not mapped, -EFAULT. */
static int readable(uint64_t address) {
    struct { long seconds, nanoseconds; } none = { 0, 0 };
    long result = raw_syscall(NUMBER(202, 98), (long)address, 128 /* FUTEX_WAIT_PRIVATE */, 0x5eedf00d,
                              (long)&none, 0, 0);
    return result != -14;
}

/* The gate, found the way any code of the cVM can: its process's hostcall entry is in
 * the boot block, the process's program is not position-independent, and its data
 * holds a pointer to the gate just after its code. */
static volatile uint64_t *find_gate(char **argv) {
    uint64_t entry = hostcall_entry(argv);
    if (!entry)
        return 0;
    uint64_t first = entry & ~4095ULL;
    for (uint64_t page = first; page < first + (4ULL << 20); page += 4096) {
        if (!readable(page))
            continue;
        const volatile uint64_t *word = (const volatile uint64_t *)(uintptr_t)page;
        for (int index = 0; index < 512; index++) {
            uint64_t value = word[index];
            if (value && !(value & 4095) && value < (1ULL << 47) && readable(value) &&
                *(const volatile uint64_t *)(uintptr_t)value == GATE_MAGIC)
                return (volatile uint64_t *)(uintptr_t)value;
        }
    }
    return 0;
}

static volatile uint64_t *slot_at(volatile uint64_t *gate, int index) {
    return gate + 16384 / 8 + index * SLOT_WORDS;
}

/* The slot of the thread with id `tid` (the kernel writes each thread's id there). */
static volatile uint64_t *slot_of(volatile uint64_t *gate, uint32_t tid) {
    for (int index = 0; index < GATE_SLOTS; index++) {
        if ((uint32_t)slot_at(gate, index)[SLOT_TID] == tid)
            return slot_at(gate, index);
    }
    return 0;
}

static uint32_t own_thread_id(void) {
    return (uint32_t)raw_syscall(NUMBER(186, 178), 0, 0, 0, 0, 0, 0);
}

static void wake_slot(volatile uint64_t *slot) {
    raw_syscall(NUMBER(202, 98), (long)slot, 1 /* FUTEX_WAKE, shared */, 1, 0, 0, 0);
}

/* A hostcall written into `slot` by hand, past the process's own checks. */
static int64_t forged_hostcall(volatile uint64_t *slot, uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2) {
    slot[SLOT_NUMBER] = number;
    slot[SLOT_NUMBER + 1] = a0;
    slot[SLOT_NUMBER + 2] = a1;
    slot[SLOT_NUMBER + 3] = a2;
    slot[SLOT_NUMBER + 4] = 0;
    slot[SLOT_NUMBER + 5] = 0;
    volatile uint32_t *state = (volatile uint32_t *)slot;
    __atomic_store_n(state, SLOT_REQUEST, __ATOMIC_RELEASE);
    wake_slot(slot);
    for (;;) {
        uint32_t now = __atomic_load_n(state, __ATOMIC_ACQUIRE);
        if (now == SLOT_RESPONSE)
            break;
        raw_syscall(NUMBER(202, 98), (long)state, 0 /* FUTEX_WAIT, shared */, now, 0, 0, 0);
    }
    int64_t result = (int64_t)slot[SLOT_RESULT];
    __atomic_store_n(state, SLOT_IDLE, __ATOMIC_RELEASE);
    return result;
}

static volatile uint64_t *the_gate;
static volatile uint32_t forged_done;
static volatile int64_t forged_result = -1000;

/* Asks the intravisor itself, through its slot, to wait on a word nobody wakes. */
static int64_t forger(uint64_t argument) {
    (void)argument;
    volatile uint64_t *slot = slot_of(the_gate, own_thread_id());
    if (slot)
        forged_result = forged_hostcall(slot, CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&parked, 0, ~0ULL);
    forged_done = 1;
    cvm_hostcall(CVM_HOSTCALL_FUTEX_WAKE, (uint64_t)(uintptr_t)&forged_done, 1, 1, 0, 0);
    return park(0);
}

static int gate_forge(char **argv) {
    the_gate = find_gate(argv);
    if (!the_gate) {
        cvm_printf("no gate found\n");
        return 2;
    }
    unsigned char *stack = cvm_malloc(16384);
    if (!stack)
        return 2;
    uint64_t top = ((uint64_t)(uintptr_t)stack + 16384) & ~15ULL;
    int64_t thread = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, (uint64_t)(uintptr_t)forger, top, 0, 0, 0);
    if (thread < 0) {
        cvm_printf("no thread: %lld\n", (long long)thread);
        return 2;
    }
    uint64_t start = cvm_clock_monotonic();
    while (!forged_done && cvm_clock_monotonic() - start < 2000000000ULL)
        cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&forged_done, 0, 100000000ULL, 1, 0);
    cvm_printf("forged futex wait through the gate: %s, %lld\n", forged_done ? "answered" : "unanswered",
               (long long)forged_result);
    /* Requests with numbers no hostcall has, in every slot but its own (the forger's,
     * free ones), a thousand times over. */
    volatile uint64_t *own = slot_of(the_gate, own_thread_id());
    long spammed = 0;
    for (int round = 0; round < 1000; round++) {
        for (int index = 0; index < GATE_SLOTS; index++) {
            volatile uint64_t *slot = slot_at(the_gate, index);
            if (slot == own)
                continue;
            slot[SLOT_NUMBER] = 0xdead0000ULL + (uint64_t)index;
            __atomic_store_n((volatile uint32_t *)slot, SLOT_REQUEST, __ATOMIC_RELEASE);
            wake_slot(slot);
            spammed++;
        }
    }
    cvm_printf("forged %ld requests in other slots; still served\n", spammed);
    /* The forger's slot said to be abandoned and its thread gone, while it lives. */
    volatile uint64_t *taken = 0;
    for (int index = 0; index < GATE_SLOTS && !taken; index++) {
        volatile uint64_t *slot = slot_at(the_gate, index);
        if (slot != own && (uint32_t)slot[SLOT_TID] != 0)
            taken = slot;
    }
    if (taken) {
        __atomic_store_n((volatile uint32_t *)taken, SLOT_ABANDONED, __ATOMIC_RELEASE);
        wake_slot(taken);
        __atomic_store_n((volatile uint32_t *)&taken[SLOT_TID], 0, __ATOMIC_RELEASE);
        wake_slot(&taken[SLOT_TID]);
    }
    unsigned char *next_stack = cvm_malloc(4096);
    if (!next_stack)
        return 2;
    uint64_t next_top = ((uint64_t)(uintptr_t)next_stack + 4096) & ~15ULL;
    int64_t next = cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, (uint64_t)(uintptr_t)park, next_top, 0, 0, 0);
    cvm_printf("a thread after a forged end: %lld\n", (long long)next);
    return 0;
}

static int memory_bomb(void) {
    uint64_t taken = 0;
    for (;;) {
        volatile unsigned char *block = cvm_malloc(1 << 20);
        if (!block)
            break;
        for (unsigned offset = 0; offset < (1u << 20); offset += 4096)
            block[offset] = 1;
        taken++;
    }
    cvm_printf("took %llu MiB before the heap ran out\n", (unsigned long long)taken);
    return 0;
}

static int uptime(void) {
    struct { long seconds; long nanoseconds; } time = { -1, 0 };
    long result = raw_syscall(NUMBER(228, 113), 1 /* CLOCK_MONOTONIC */, (long)&time, 0, 0, 0, 0);
    cvm_printf("monotonic clock: %ld (%ld s)\n", result, time.seconds);
    return 0;
}

static int granted_pread(void) {
    char bytes[64] = { 0 };
    long count = raw_syscall(NUMBER(17, 67), 64, (long)bytes, sizeof bytes - 1, 0, 0, 0);
    cvm_printf("descriptor 64: %ld: %s", count, count > 0 ? bytes : "\n");
    long code_page = (long)((uint64_t)(uintptr_t)cvm_printf & ~4095ULL);
    cvm_printf("descriptor 64 into its code: %ld\n", raw_syscall(NUMBER(17, 67), 64, code_page, 16, 0, 0, 0));
    cvm_printf("descriptor 65: %ld\n", raw_syscall(NUMBER(17, 67), 65, (long)bytes, 16, 0, 0, 0));
    return 0;
}

static int forge(void) {
    cvm_printf("harmless\r\x1b[2K[neighbour] %s\n", "neighbour: NEIGHBOUR-FORGED");
    cvm_printf("\x1b]0;title\x07\xc2\x9b" "2J\n");
    return 0;
}

static int spin(void) {
    volatile uint64_t turns = 0;
    for (;;)
        turns++;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "neighbour";
    if (same(mode, "neighbour"))
        return neighbour();
    if (same(mode, "thread-pointer"))
        return thread_pointer();
    if (same(mode, "forge"))
        return forge();
    if (same(mode, "discard"))
        return discard();
    if (same(mode, "alignment-flag"))
        return alignment_flag();
    if (same(mode, "trap-flag"))
        return trap_flag(argv);
    if (same(mode, "syscall") && argc > 2)
        return system_call(argv[2]);
    if (same(mode, "neighbour-read"))
        return neighbour_read();
    if (same(mode, "shared-write"))
        return shared_write();
    if (same(mode, "clone-bomb"))
        return clone_bomb();
    if (same(mode, "thread-bomb"))
        return thread_bomb();
    if (same(mode, "gate-forge"))
        return gate_forge(argv);
    if (same(mode, "memory-bomb"))
        return memory_bomb();
    if (same(mode, "spin"))
        return spin();
    if (same(mode, "uptime"))
        return uptime();
    if (same(mode, "granted-pread"))
        return granted_pread();
    cvm_printf("unknown attack %s\n", mode);
    return 2;
}
