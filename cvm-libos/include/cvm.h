/* cvm.h: the interface a C program inside a cVM uses to reach the intravisor.
 *
 * Link the program with cvm-libos (the xtask does). The program provides
 * `int main(int argc, char **argv)`; argv[0] is the cVM's name. Every pointer passed
 * here is checked by the intravisor against the cVM's capabilities: a buffer outside
 * the cVM's region gives -CVM_EFAULT, never a crash of anything but, at most, the cVM.
 */
#ifndef CVM_H
#define CVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Console handles for cvm_write. */
#define CVM_STDOUT 1
#define CVM_STDERR 2

/* Modes for cvm_open. */
#define CVM_OPEN_READ 0  /* a file the deployment granted */
#define CVM_OPEN_WRITE 1 /* create (or empty) a file in the cVM's output directory */
#define CVM_OPEN_UPDATE 2 /* read and write an output, made if there is none */
#define CVM_OPEN_UPDATE_EXISTING 3 /* read and write an output that exists */

/* Errors: hostcalls return their negation. */
#define CVM_ENOENT 2
#define CVM_EIO 5
#define CVM_EBADF 9
#define CVM_EAGAIN 11
#define CVM_EACCES 13
#define CVM_EFAULT 14
#define CVM_EINVAL 22
#define CVM_EMFILE 24
#define CVM_ENAMETOOLONG 36
#define CVM_ENOSYS 38
#define CVM_ETIMEDOUT 110

/* Hostcall numbers, for cvm_hostcall. */
#define CVM_HOSTCALL_WRITE 1
#define CVM_HOSTCALL_EXIT 2
#define CVM_HOSTCALL_CLOCK_MONOTONIC 3
#define CVM_HOSTCALL_CLOCK_WALL 4
#define CVM_HOSTCALL_OPEN 5
#define CVM_HOSTCALL_READ 6
#define CVM_HOSTCALL_CLOSE 7
#define CVM_HOSTCALL_SET_THREAD_POINTER 8
#define CVM_HOSTCALL_SEEK 9
#define CVM_HOSTCALL_FILE_SIZE 10
#define CVM_HOSTCALL_RANDOM 11
#define CVM_HOSTCALL_THREAD_CREATE 12
#define CVM_HOSTCALL_THREAD_EXIT 13
#define CVM_HOSTCALL_FUTEX_WAIT 14
#define CVM_HOSTCALL_FUTEX_WAKE 15
#define CVM_HOSTCALL_THREAD_ID 16
#define CVM_HOSTCALL_PROCESSOR_COUNT 17
#define CVM_HOSTCALL_SET_CLEAR_ADDRESS 18
#define CVM_HOSTCALL_DISCARD_PAGES 19

/* Writes to a console or file handle; returns bytes written or -errno. */
int64_t cvm_write(uint64_t handle, const void *buffer, uint64_t length);
/* Ends the cVM with `status`. */
_Noreturn void cvm_exit(int status);
/* Nanoseconds on a monotonic clock / since the Unix epoch. */
uint64_t cvm_clock_monotonic(void);
uint64_t cvm_clock_wall(void);
/* Opens a file; returns a handle or -errno (-CVM_ENOENT: not granted,
 * -CVM_EACCES: name not allowed in the output directory). */
int64_t cvm_open(const char *name, int mode);
/* Reads from a handle; returns bytes read, 0 at end of file, or -errno. */
int64_t cvm_read(uint64_t handle, void *buffer, uint64_t length);
/* Closes a handle; returns 0 or -errno. */
int64_t cvm_close(uint64_t handle);
/* Any hostcall with raw arguments. */
int64_t cvm_hostcall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2,
                     uint64_t a3, uint64_t a4);
/* The cVM's heap. */
void *cvm_malloc(size_t size);
void cvm_free(void *pointer);
/* Sets the C library's thread pointer of this cVM (the fs base on x86-64, TPIDR_EL0 on
 * AArch64), kept across hostcalls; returns 0, or -CVM_ENOSYS where the platform does
 * not switch it. On AArch64 the address must be followed by 16 writable bytes: the
 * second word is taken for the cVM's compartment-local storage table. */
int64_t cvm_set_thread_pointer(uint64_t address);
/* The cVM's name. */
const char *cvm_name(void);
/* The cVM's region: its first byte and its size. */
void cvm_region(uint64_t *base, uint64_t *size);
/* The sealed entry capability of function `name` of a Morello purecap object this cVM
 * enters: the address of its 16-byte slot, or NULL when there is none. The slot holds
 * a tagged capability only on the morello platform. */
const void *cvm_entry(const char *name);

/* Formatted output (cvm-libos/c/format.c): %s %c %d %i %u %x %p %% with the l and
 * ll length modifiers and a field width. Returns bytes written or -errno. */
int cvm_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* The same into a buffer; returns the length the full output would have. */
int cvm_snprintf(char *buffer, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif /* CVM_H */
