/* caller: a hybrid cVM that enters the C64 ORC object libcounter64.so (see
 * xtask/src/c64.rs) through the sealed entry capabilities the intravisor gives it.
 *
 *   count N   calls counter_increment N times and prints what each call returns: the
 *             cVM's own counter, in its compartment-local storage;
 *   store     calls counter_overwrite_code, which stores through a capability derived
 *             from its own PCC: the entry capability gave it no Store permission, so
 *             the store takes a capability permission fault and this cVM ends;
 *   direct    calls counter_increment by its plain address, not through the entry
 *             capability: the address lies outside this cVM's PCC bounds, so the
 *             branch leaves an untagged PCC and the fetch takes a capability tag
 *             fault; this cVM ends;
 *   leave     leaves counter_increment's sealed entry capability in CID_EL0,
 *             RCTPIDR_EL0 and RCSP_EL0, registers the next cVM can read;
 *   take      (a cVM not granted libcounter64.so) prints the tag of what CID_EL0 holds
 *             and branches to it: the intravisor cleared it, so the branch takes a
 *             capability tag fault and this cVM ends without reaching the object.
 */
#include <cvm.h>

/* morello_call.s: branches with a link to the sealed entry capability at `entry`. */
long cvm_call_entry(const void *entry, long argument);
/* Leaves the sealed entry capability at `entry` in CID_EL0, RCTPIDR_EL0 and RCSP_EL0. */
void cvm_leave_entry(const void *entry);
/* The tag and the value of the capability CID_EL0 holds. */
void cvm_read_left(uint64_t out[2]);
/* Branches with a link to the capability CID_EL0 holds. */
long cvm_call_left(void);

static int same(const char *left, const char *right) {
    while (*left && *left == *right) {
        left++;
        right++;
    }
    return *left == *right;
}

static long number(const char *text) {
    long value = 0;
    while (*text >= '0' && *text <= '9')
        value = value * 10 + (*text++ - '0');
    return value;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "count";
    if (same(mode, "take")) {
        uint64_t left[2];
        cvm_read_left(left);
        cvm_printf("take: CID_EL0 holds tag %llu value %llx; calling it\n", (unsigned long long)left[0],
                   (unsigned long long)left[1]);
        long value = cvm_call_left();
        cvm_printf("take: the call returned %ld: this line must never appear\n", value);
        return 0;
    }
    const void *increment = cvm_entry("counter_increment");
    const void *overwrite = cvm_entry("counter_overwrite_code");
    if (!increment || !overwrite) {
        cvm_printf("no entry capabilities: libcounter64.so is not among this cVM's objects\n");
        return 3;
    }
    if (same(mode, "count")) {
        long calls = argc > 2 ? number(argv[2]) : 1;
        for (long call = 1; call <= calls; call++)
            cvm_printf("call %ld: counter_increment() = %ld\n", call, cvm_call_entry(increment, 0));
        return 0;
    }
    if (same(mode, "store")) {
        cvm_printf("calling counter_overwrite_code through its entry capability\n");
        cvm_call_entry(overwrite, 0);
        cvm_printf("returned: this line must never appear\n");
        return 0;
    }
    if (same(mode, "direct")) {
        /* The capability's address field is its first 8 bytes; bit 0 selects C64. */
        uint64_t address = *(const volatile uint64_t *)increment & ~(uint64_t)1;
        cvm_printf("calling counter_increment at %p without its entry capability\n", (void *)(uintptr_t)address);
        long value = ((long (*)(void))(uintptr_t)address)();
        cvm_printf("returned %ld: this line must never appear\n", value);
        return 0;
    }
    if (same(mode, "leave")) {
        cvm_leave_entry(increment);
        uint64_t left[2];
        cvm_read_left(left);
        cvm_printf("leave: counter_increment's entry capability (tag %llu value %llx) is in CID_EL0, "
                   "RCTPIDR_EL0 and RCSP_EL0\n",
                   (unsigned long long)left[0], (unsigned long long)left[1]);
        return 0;
    }
    cvm_printf("unknown mode `%s`: count N, store, direct, leave or take\n", mode);
    return 2;
}
