/* hostile: a tenant that attacks what one bare-metal cVM leaves in the core for the
 * next, or tries to stop it; run beside healthy neighbours (deploy.yaml). The mode is
 * its first argument:
 *
 *   plant     fills x1..x28 and v0..v31 with a secret, sets FPCR (round toward zero,
 *             flush to zero, default NaN) and FPSR, and exits with a supervisor call
 *             straight after, so the secret is in the registers when it leaves;
 *   inspect   reads, first thing in main, every SIMD/FP register, FPCR, FPSR and
 *             TPIDRRO_EL0, and says which are non-zero and whether any holds the
 *             secret; then checks that a hostcall gives back every register as it was
 *             but x0 (its answer), and that 1/3 rounds to nearest;
 *   threads   two threads with their own SIMD/FP registers and FPCR take turns on futex
 *             waits: each must get its own back;
 *   flood N   writes N bytes of 'A' to the console, never a newline;
 *   wfi, wfe  executes WFI or WFE, which would stop the core until an interrupt;
 *   spin      computes forever without a hostcall (its deployment gives it a
 *             processor time limit);
 *   spin-threads  starts a thread that computes forever, then waits 50 ms on a word
 *             nobody wakes: only the end of the spinner's time slice gives the core
 *             back, and the first thread says so and exits;
 *   mask-interrupts, stop-timer  try to keep the core: mask interrupts (MSR DAIFSet)
 *             or turn off the timer that ends a slice (CNTV_CTL_EL0), then spin;
 *   neighbour reads and then writes the byte at its own stack's offset in the next
 *             cVM's region (regions of one size lie side by side), while that cVM,
 *             built and live, waits for the core;
 *   healthy   prints one line and exits 0;
 *   plant-capabilities, inspect-capabilities (Morello only, morello.yaml): the first
 *             leaves its DDC, a tagged capability, in CID_EL0, RCTPIDR_EL0 and RCSP_EL0;
 *             the second prints the tag and value of those and of CTPIDRRO_EL0.
 *
 * AArch64 code (the bare-metal images); the build for the host exits 2 saying so.
 */
#include <cvm.h>

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

static int healthy(void) {
    cvm_printf("healthy: %s ran to the end\n", cvm_name());
    return 0;
}

#if defined(__aarch64__)

/* Everything a cVM can read in its core: x0..x30 (x29 and x30 are never loaded), FPCR,
 * FPSR, and q0..q31 as two 64-bit halves each. Offsets are the assembly's. */
struct registers {
    uint64_t x[31];
    uint64_t fpcr, fpsr, tpidrro;
    uint64_t v[32][2];
} __attribute__((aligned(16)));

_Static_assert(__builtin_offsetof(struct registers, fpcr) == 248, "fpcr at 248");
_Static_assert(__builtin_offsetof(struct registers, v) == 272, "v at 272");

/* void loaded_hostcall(const struct registers *in, struct registers *out):
 * loads x0..x28, q0..q31, FPCR and FPSR from `in`, makes the hostcall numbered by x8
 * (svc #0), and stores x0..x28, q0..q31, FPCR and FPSR as it returned them into `out`;
 * then gives the caller back its callee-saved registers and FPCR. */
__asm__(".text\n"
        ".p2align 2\n"
        "loaded_hostcall:\n"
        "stp x29, x30, [sp, #-176]!\n"
        "mov x29, sp\n"
        "stp x19, x20, [sp, #16]\n"
        "stp x21, x22, [sp, #32]\n"
        "stp x23, x24, [sp, #48]\n"
        "stp x25, x26, [sp, #64]\n"
        "stp x27, x28, [sp, #80]\n"
        "stp d8, d9, [sp, #96]\n"
        "stp d10, d11, [sp, #112]\n"
        "stp d12, d13, [sp, #128]\n"
        "stp d14, d15, [sp, #144]\n"
        "mrs x2, fpcr\n"
        "stp x1, x2, [sp, #160]\n"
        "ldp x2, x3, [x0, #248]\n"
        "msr fpcr, x2\n"
        "msr fpsr, x3\n"
        "ldp q0, q1, [x0, #272]\n"
        "ldp q2, q3, [x0, #304]\n"
        "ldp q4, q5, [x0, #336]\n"
        "ldp q6, q7, [x0, #368]\n"
        "ldp q8, q9, [x0, #400]\n"
        "ldp q10, q11, [x0, #432]\n"
        "ldp q12, q13, [x0, #464]\n"
        "ldp q14, q15, [x0, #496]\n"
        "ldp q16, q17, [x0, #528]\n"
        "ldp q18, q19, [x0, #560]\n"
        "ldp q20, q21, [x0, #592]\n"
        "ldp q22, q23, [x0, #624]\n"
        "ldp q24, q25, [x0, #656]\n"
        "ldp q26, q27, [x0, #688]\n"
        "ldp q28, q29, [x0, #720]\n"
        "ldp q30, q31, [x0, #752]\n"
        "ldp x2, x3, [x0, #16]\n"
        "ldp x4, x5, [x0, #32]\n"
        "ldp x6, x7, [x0, #48]\n"
        "ldp x8, x9, [x0, #64]\n"
        "ldp x10, x11, [x0, #80]\n"
        "ldp x12, x13, [x0, #96]\n"
        "ldp x14, x15, [x0, #112]\n"
        "ldp x16, x17, [x0, #128]\n"
        "ldp x18, x19, [x0, #144]\n"
        "ldp x20, x21, [x0, #160]\n"
        "ldp x22, x23, [x0, #176]\n"
        "ldp x24, x25, [x0, #192]\n"
        "ldp x26, x27, [x0, #208]\n"
        "ldr x28, [x0, #224]\n"
        "ldp x0, x1, [x0, #0]\n"
        "svc #0\n"
        "stp x0, x1, [sp, #-16]!\n"
        "ldr x0, [sp, #176]\n"
        "stp x2, x3, [x0, #16]\n"
        "stp x4, x5, [x0, #32]\n"
        "stp x6, x7, [x0, #48]\n"
        "stp x8, x9, [x0, #64]\n"
        "stp x10, x11, [x0, #80]\n"
        "stp x12, x13, [x0, #96]\n"
        "stp x14, x15, [x0, #112]\n"
        "stp x16, x17, [x0, #128]\n"
        "stp x18, x19, [x0, #144]\n"
        "stp x20, x21, [x0, #160]\n"
        "stp x22, x23, [x0, #176]\n"
        "stp x24, x25, [x0, #192]\n"
        "stp x26, x27, [x0, #208]\n"
        "str x28, [x0, #224]\n"
        "ldp x2, x3, [sp], #16\n"
        "stp x2, x3, [x0, #0]\n"
        "mrs x2, fpcr\n"
        "mrs x3, fpsr\n"
        "stp x2, x3, [x0, #248]\n"
        "stp q0, q1, [x0, #272]\n"
        "stp q2, q3, [x0, #304]\n"
        "stp q4, q5, [x0, #336]\n"
        "stp q6, q7, [x0, #368]\n"
        "stp q8, q9, [x0, #400]\n"
        "stp q10, q11, [x0, #432]\n"
        "stp q12, q13, [x0, #464]\n"
        "stp q14, q15, [x0, #496]\n"
        "stp q16, q17, [x0, #528]\n"
        "stp q18, q19, [x0, #560]\n"
        "stp q20, q21, [x0, #592]\n"
        "stp q22, q23, [x0, #624]\n"
        "stp q24, q25, [x0, #656]\n"
        "stp q26, q27, [x0, #688]\n"
        "stp q28, q29, [x0, #720]\n"
        "stp q30, q31, [x0, #752]\n"
        "ldr x2, [sp, #168]\n"
        "msr fpcr, x2\n"
        "ldp x19, x20, [sp, #16]\n"
        "ldp x21, x22, [sp, #32]\n"
        "ldp x23, x24, [sp, #48]\n"
        "ldp x25, x26, [sp, #64]\n"
        "ldp x27, x28, [sp, #80]\n"
        "ldp d8, d9, [sp, #96]\n"
        "ldp d10, d11, [sp, #112]\n"
        "ldp d12, d13, [sp, #128]\n"
        "ldp d14, d15, [sp, #144]\n"
        "ldp x29, x30, [sp], #176\n"
        "ret\n");
void loaded_hostcall(const struct registers *in, struct registers *out);

/* void entry_registers(struct registers *out): q0..q31, FPCR, FPSR and TPIDRRO_EL0 as
 * they are now (x registers not kept). */
__asm__(".text\n"
        ".p2align 2\n"
        "entry_registers:\n"
        "mrs x1, fpcr\n"
        "mrs x2, fpsr\n"
        "stp x1, x2, [x0, #248]\n"
        "mrs x1, tpidrro_el0\n"
        "str x1, [x0, #264]\n"
        "stp q0, q1, [x0, #272]\n"
        "stp q2, q3, [x0, #304]\n"
        "stp q4, q5, [x0, #336]\n"
        "stp q6, q7, [x0, #368]\n"
        "stp q8, q9, [x0, #400]\n"
        "stp q10, q11, [x0, #432]\n"
        "stp q12, q13, [x0, #464]\n"
        "stp q14, q15, [x0, #496]\n"
        "stp q16, q17, [x0, #528]\n"
        "stp q18, q19, [x0, #560]\n"
        "stp q20, q21, [x0, #592]\n"
        "stp q22, q23, [x0, #624]\n"
        "stp q24, q25, [x0, #656]\n"
        "stp q26, q27, [x0, #688]\n"
        "stp q28, q29, [x0, #720]\n"
        "stp q30, q31, [x0, #752]\n"
        "ret\n");
void entry_registers(struct registers *out);

/* The secret: its top 48 bits mark it, the low 16 bits say where it was put. */
#define SECRET 0x5ec2e75ec2e7ULL
#define SECRET_WORD(where) ((SECRET << 16) | (uint64_t)(where))
/* FPCR: RMode toward zero (23:22 = 3), FZ (24), DN (25). FPSR: every cumulative flag. */
#define PLANTED_FPCR ((3ULL << 22) | (1ULL << 24) | (1ULL << 25))
#define PLANTED_FPSR 0x0800009fULL

static int is_secret(uint64_t word) { return word >> 16 == SECRET; }

static int plant(void) {
    static struct registers in, out;
    for (int index = 1; index < 29; index++)
        in.x[index] = SECRET_WORD(index);
    for (int index = 0; index < 32; index++) {
        in.v[index][0] = SECRET_WORD(0x100 + index);
        in.v[index][1] = SECRET_WORD(0x200 + index);
    }
    in.fpcr = PLANTED_FPCR;
    in.fpsr = PLANTED_FPSR;
    in.x[0] = 0;
    in.x[8] = CVM_HOSTCALL_EXIT;
    cvm_printf("plant: the secret is in x1..x28 and v0..v31, FPCR %llx, FPSR %llx; exiting\n",
               (unsigned long long)in.fpcr, (unsigned long long)in.fpsr);
    loaded_hostcall(&in, &out);
    cvm_printf("plant: still running after exit: this line must never appear\n");
    return 1;
}

/* Says which of the SIMD/FP registers hold something, and which the secret. */
static void report_entry(const char *who, const struct registers *seen) {
    char list[32 * 4 + 1];
    int length = 0, nonzero = 0, secret = 0;
    list[0] = 0;
    for (int index = 0; index < 32; index++) {
        const uint64_t *half = seen->v[index];
        if (half[0] || half[1]) {
            nonzero++;
            length += cvm_snprintf(list + length, sizeof list - (size_t)length, " v%d", index);
        }
        secret += is_secret(half[0]) + is_secret(half[1]);
    }
    cvm_printf("%s: on entry %d v registers non-zero%s, %d secret words; FPCR %llx, FPSR %llx, "
               "TPIDRRO_EL0 %llx\n",
               who, nonzero, list, secret, (unsigned long long)seen->fpcr,
               (unsigned long long)seen->fpsr, (unsigned long long)seen->tpidrro);
}

/* A write hostcall with every register loaded: it must give back each as it was, but x0
 * (the bytes written). Returns how many registers differ. */
static int hostcall_keeps_registers(void) {
    static const char message[] = "inspect: a write with every register loaded\n";
    static struct registers in, out;
    for (int index = 0; index < 29; index++)
        in.x[index] = 0xc0de000000000000ULL | ((uint64_t)index << 8);
    for (int index = 0; index < 32; index++) {
        in.v[index][0] = 0xc0de000000010000ULL | (uint64_t)index;
        in.v[index][1] = 0xc0de000000020000ULL | (uint64_t)index;
    }
    in.x[0] = CVM_STDOUT;
    in.x[1] = (uint64_t)(uintptr_t)message;
    in.x[2] = sizeof message - 1;
    in.x[8] = CVM_HOSTCALL_WRITE;
    in.fpcr = 1ULL << 22; /* round toward plus infinity: the cVM's own choice */
    in.fpsr = 0x10;       /* IXC */
    loaded_hostcall(&in, &out);
    int differ = 0;
    if (out.x[0] != in.x[2])
        differ++;
    for (int index = 1; index < 29; index++)
        if (out.x[index] != in.x[index]) {
            cvm_printf("inspect: x%d came back %llx, not %llx\n", index,
                       (unsigned long long)out.x[index], (unsigned long long)in.x[index]);
            differ++;
        }
    for (int index = 0; index < 32; index++)
        if (out.v[index][0] != in.v[index][0] || out.v[index][1] != in.v[index][1]) {
            cvm_printf("inspect: v%d came back %llx:%llx\n", index,
                       (unsigned long long)out.v[index][1], (unsigned long long)out.v[index][0]);
            differ++;
        }
    if (out.fpcr != in.fpcr || out.fpsr != in.fpsr) {
        cvm_printf("inspect: FPCR, FPSR came back %llx, %llx\n", (unsigned long long)out.fpcr,
                   (unsigned long long)out.fpsr);
        differ++;
    }
    return differ;
}

/* 1/3 in single precision: 0x3eaaaaab rounded to nearest, 0x3eaaaaaa toward zero. */
static uint32_t one_third(void) {
    volatile float one = 1.0f, three = 3.0f;
    float quotient = one / three;
    uint32_t bits;
    __builtin_memcpy(&bits, &quotient, sizeof bits);
    return bits;
}

static int inspect(const struct registers *at_entry) {
    report_entry("inspect", at_entry);
    int differ = hostcall_keeps_registers();
    cvm_printf("inspect: after a hostcall %d registers differ from what the cVM put there\n", differ);
    cvm_printf("inspect: 1/3 rounds to %x\n", one_third());
    return 0;
}

/* Two threads take turns: each loads its own SIMD/FP registers and FPCR, waits on a
 * futex word while the other runs, and must find its own when it resumes. */
struct turns {
    uint32_t turn, done;
    uint64_t second_differ;
};

static int differing(const struct registers *in, const struct registers *out) {
    int differ = 0;
    for (int index = 0; index < 32; index++)
        differ += out->v[index][0] != in->v[index][0] || out->v[index][1] != in->v[index][1];
    return differ + (out->fpcr != in->fpcr);
}

static void fill(struct registers *in, uint64_t mark, uint64_t fpcr) {
    for (int index = 0; index < 32; index++) {
        in->v[index][0] = mark | (uint64_t)index;
        in->v[index][1] = mark | 0x100 | (uint64_t)index;
    }
    in->fpcr = fpcr;
}

static _Noreturn void second_thread(uint64_t argument) {
    struct turns *turns = (struct turns *)(uintptr_t)argument;
    static struct registers in, out;
    __atomic_store_n(&turns->turn, 1, __ATOMIC_SEQ_CST);
    cvm_hostcall(CVM_HOSTCALL_FUTEX_WAKE, (uint64_t)(uintptr_t)&turns->turn, 1, 0, 0, 0);
    fill(&in, 0xb0b0000000000000ULL, 2ULL << 22); /* round toward minus infinity */
    in.x[0] = (uint64_t)(uintptr_t)&turns->turn;
    in.x[1] = 1;
    in.x[2] = ~0ULL;
    in.x[8] = CVM_HOSTCALL_FUTEX_WAIT;
    loaded_hostcall(&in, &out); /* the first thread runs until it sets turn 2 */
    turns->second_differ = (uint64_t)differing(&in, &out);
    __atomic_store_n(&turns->done, 1, __ATOMIC_SEQ_CST);
    cvm_hostcall(CVM_HOSTCALL_FUTEX_WAKE, (uint64_t)(uintptr_t)&turns->done, 1, 0, 0, 0);
    cvm_hostcall(CVM_HOSTCALL_THREAD_EXIT, 0, 0, 0, 0, 0);
    for (;;) {
    }
}

/* Starts a thread at entry(argument) on a 64 KiB stack of its own, with this thread's
 * thread pointer; its id, or the hostcall's error. */
static int64_t start_thread(void (*entry)(uint64_t), uint64_t argument) {
    uint64_t thread_pointer;
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(thread_pointer));
    char *stack = cvm_malloc(64 * 1024);
    uint64_t top = ((uint64_t)(uintptr_t)stack + 64 * 1024) & ~15ULL;
    return cvm_hostcall(CVM_HOSTCALL_THREAD_CREATE, (uint64_t)(uintptr_t)entry, top, argument, thread_pointer, 0);
}

/* spin: computes forever, and never makes a hostcall. */
static int spin(void) {
    static volatile uint64_t counter;
    for (;;)
        counter++;
    return 0;
}

static _Noreturn void spinner(uint64_t argument) {
    volatile uint64_t *counter = (volatile uint64_t *)(uintptr_t)argument;
    for (;;)
        (*counter)++;
}

static int spin_threads(void) {
    static volatile uint64_t counter;
    static uint32_t never;
    int64_t started = start_thread(spinner, (uint64_t)(uintptr_t)&counter);
    if (started < 0) {
        cvm_printf("spin-threads: no second thread: %lld\n", (long long)started);
        return 1;
    }
    /* The spinner takes the core; without preemption this thread would never run again. */
    cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&never, 0, 50 * 1000 * 1000, 0, 0);
    cvm_printf("spin-threads: the first thread ran again while the second spun (it had %s)\n",
               counter > 0 ? "counted" : "not counted");
    return 0;
}

static int neighbour(void) {
    volatile char here = 1;
    volatile char *there = (volatile char *)((uintptr_t)&here + 8 * 1024 * 1024);
    char value = *there;
    cvm_printf("neighbour: read %d from the next cVM's region\n", value);
    *there = 'X';
    cvm_printf("neighbour: wrote into the next cVM's region\n");
    return 0;
}

/* Tries to keep the core: masks interrupts, or turns the timer off; then spins. Each
 * instruction traps at EL0, ending the cVM. */
static int keep_core(int timer) {
    if (timer)
        __asm__ volatile("msr cntv_ctl_el0, xzr");
    else
        __asm__ volatile("msr daifset, #0xf");
    cvm_printf("%s: still running\n", timer ? "stop-timer" : "mask-interrupts");
    return spin();
}

static int threads(void) {
    static struct turns turns;
    static struct registers in, out;
    int64_t started = start_thread(second_thread, (uint64_t)(uintptr_t)&turns);
    if (started < 0) {
        cvm_printf("threads: no second thread: %lld\n", (long long)started);
        return 1;
    }
    fill(&in, 0xa1a1000000000000ULL, 3ULL << 22); /* round toward zero */
    in.x[0] = (uint64_t)(uintptr_t)&turns.turn;
    in.x[1] = 0;
    in.x[2] = ~0ULL;
    in.x[8] = CVM_HOSTCALL_FUTEX_WAIT;
    loaded_hostcall(&in, &out); /* the second thread runs until it waits */
    int first_differ = differing(&in, &out);
    __atomic_store_n(&turns.turn, 2, __ATOMIC_SEQ_CST);
    cvm_hostcall(CVM_HOSTCALL_FUTEX_WAKE, (uint64_t)(uintptr_t)&turns.turn, 1, 0, 0, 0);
    while (__atomic_load_n(&turns.done, __ATOMIC_SEQ_CST) == 0)
        cvm_hostcall(CVM_HOSTCALL_FUTEX_WAIT, (uint64_t)(uintptr_t)&turns.done, 0, ~0ULL, 0, 0);
    cvm_printf("threads: after switches the first thread found %d of its SIMD/FP registers and FPCR "
               "changed, the second %d\n",
               first_differ, (int)turns.second_differ);
    return 0;
}

static int wait_instruction(int event) {
    cvm_printf("%s: executing %s at EL0\n", cvm_name(), event ? "WFE" : "WFI");
    if (event)
        __asm__ volatile("wfe");
    else
        __asm__ volatile("wfi");
    cvm_printf("%s: still running after %s\n", cvm_name(), event ? "WFE" : "WFI");
    return 0;
}

/* Morello only (undefined instructions elsewhere; deployment morello.yaml), in `.inst`
 * words (FACTS §2.2, the intravisor's encoder): the capability registers of EL0 a cVM
 * can write and the next could read. */
#define MORELLO_READ(name, word)                                                          \
    static void name(uint64_t *tag, uint64_t *value) {                                  \
        uint64_t t, v;                                                                    \
        __asm__ volatile(".inst " #word "\n" /* mrs c0, <register> */                    \
                         ".inst 0xc2c09000\n" /* gctag x0, c0 */                          \
                         "mov %0, x0\n"                                                   \
                         ".inst " #word "\n"                                              \
                         ".inst 0xc2c05000\n" /* gcvalue x0, c0 */                        \
                         "mov %1, x0\n"                                                   \
                         : "=r"(t), "=r"(v)                                               \
                         :                                                                \
                         : "x0");                                                         \
        *tag = t;                                                                         \
        *value = v;                                                                       \
    }
MORELLO_READ(read_cid, 0xc29bd0e0)
MORELLO_READ(read_rctpidr, 0xc29bd080)
MORELLO_READ(read_rcsp, 0xc29f4160)
MORELLO_READ(read_ctpidrro, 0xc29bd060)

/* Leaves its DDC (a tagged capability for its region) in CID_EL0, RCTPIDR_EL0 and
 * RCSP_EL0. */
static int plant_capabilities(void) {
    __asm__ volatile(".inst 0xc29b4120\n" /* mrs c0, DDC */
                     ".inst 0xc28bd0e0\n" /* msr CID_EL0, c0 */
                     ".inst 0xc28bd080\n" /* msr RCTPIDR_EL0, c0 */
                     ".inst 0xc28f4160\n" /* msr RCSP_EL0, c0 */
                     :
                     :
                     : "x0");
    uint64_t tag, value;
    read_cid(&tag, &value);
    cvm_printf("plant-capabilities: its DDC (tag %llu) is in CID_EL0, RCTPIDR_EL0 and RCSP_EL0\n",
               (unsigned long long)tag);
    return 0;
}

static int inspect_capabilities(void) {
    static const char *const names[] = {"CID_EL0", "RCTPIDR_EL0", "RCSP_EL0", "CTPIDRRO_EL0"};
    void (*const reads[])(uint64_t *, uint64_t *) = {read_cid, read_rctpidr, read_rcsp, read_ctpidrro};
    for (int index = 0; index < 4; index++) {
        uint64_t tag, value;
        reads[index](&tag, &value);
        cvm_printf("inspect-capabilities: %s tag %llu value %llx\n", names[index],
                   (unsigned long long)tag, (unsigned long long)value);
    }
    return 0;
}

#endif

static uint64_t number(const char *text) {
    uint64_t value = 0;
    while (*text >= '0' && *text <= '9')
        value = value * 10 + (uint64_t)(*text++ - '0');
    return value;
}

/* Writes `total` bytes of 'A' without a newline. */
static int flood(uint64_t total) {
    static char block[64 * 1024];
    for (uint64_t index = 0; index < sizeof block; index++)
        block[index] = 'A';
    uint64_t done = 0;
    while (done < total) {
        uint64_t chunk = total - done < sizeof block ? total - done : sizeof block;
        int64_t written = cvm_write(CVM_STDOUT, block, chunk);
        if (written <= 0)
            return 1;
        done += (uint64_t)written;
    }
    return 0;
}

int main(int argc, char **argv) {
#if defined(__aarch64__)
    /* Before anything else: what the cVM found in its SIMD/FP registers (on the stack:
     * a global would be reached through a call first). */
    struct registers at_entry;
    entry_registers(&at_entry);
#endif
    const char *mode = argc > 1 ? argv[1] : "healthy";
    if (same(mode, "healthy"))
        return healthy();
    if (same(mode, "flood"))
        return flood(argc > 2 ? number(argv[2]) : 1 << 20);
#if defined(__aarch64__)
    if (same(mode, "plant")) {
        report_entry("plant", &at_entry);
        return plant();
    }
    if (same(mode, "inspect"))
        return inspect(&at_entry);
    if (same(mode, "threads"))
        return threads();
    if (same(mode, "plant-capabilities"))
        return plant_capabilities();
    if (same(mode, "inspect-capabilities"))
        return inspect_capabilities();
    if (same(mode, "neighbour"))
        return neighbour();
    if (same(mode, "spin"))
        return spin();
    if (same(mode, "spin-threads"))
        return spin_threads();
    if (same(mode, "mask-interrupts") || same(mode, "stop-timer"))
        return keep_core(same(mode, "stop-timer"));
    if (same(mode, "wfi") || same(mode, "wfe"))
        return wait_instruction(same(mode, "wfe"));
    cvm_printf("hostile: unknown mode %s\n", mode);
    return 1;
#else
    cvm_printf("hostile: mode %s is AArch64 code, for bare-metal images only\n", mode);
    return 2;
#endif
}
