/* cvm-build: libc
 *
 * threads: POSIX threads on musl in a cVM. Each thread of a cVM is a thread of the
 * intravisor; they share the cVM's memory, its copy of every writable global (CLS is
 * per cVM, not per thread), and wait on futexes the intravisor serves.
 *
 *   threads work   four threads add to one counter under a mutex (and to a thread-local
 *                  one each), meet at a condition variable, and see each other's writes
 *                  to a global and only their own thread-local; a timed wait
 *                  times out; every thread has its own id; then 100 short threads, one
 *                  after another
 *   threads exit   a second thread ends the whole cVM with exit(3) while the first
 *                  waits to join it
 *   threads fault  a second thread faults while the first computes without a hostcall
 *   threads last   the first thread ends itself with pthread_exit; the cVM lives on
 *                  until its last thread returns
 *   threads deadlock  the first thread holds a mutex the second waits for, and waits to
 *                  join it: bare metal the intravisor sees that no thread can run again
 *                  (on the host it waits forever, as a process would) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define THREADS 4
#define ROUNDS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_here = PTHREAD_COND_INITIALIZER;
static long counter;
static int arrived;
static int shared_word;
static long thread_ids[THREADS];
/* Every thread's own count (thread-local storage): each sees its ROUNDS alone. */
static _Thread_local long rounds_here;

static void *work(void *argument) {
    long index = (long)argument;
    thread_ids[index] = syscall(SYS_gettid);
    for (int round = 0; round < ROUNDS; round++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        rounds_here++;
    }
    pthread_mutex_lock(&lock);
    if (index == 0)
        shared_word = 42;
    if (++arrived == THREADS)
        pthread_cond_broadcast(&all_here);
    while (arrived < THREADS)
        pthread_cond_wait(&all_here, &lock);
    int seen = shared_word;
    pthread_mutex_unlock(&lock);
    return (void *)(long)(seen == 42 && rounds_here == ROUNDS);
}

#define SHORT_THREADS 100

static void *bump(void *argument) {
    (void)argument;
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
    return 0;
}

static int run_work(void) {
    pthread_t threads[THREADS];
    for (long index = 0; index < THREADS; index++)
        if (pthread_create(&threads[index], 0, work, (void *)index) != 0) {
            printf("pthread_create: %s\n", strerror(errno));
            return 1;
        }
    int saw = 0, joined = 0;
    for (int index = 0; index < THREADS; index++) {
        void *result;
        if (pthread_join(threads[index], &result) == 0)
            joined++;
        saw += (int)(long)result;
    }
    int distinct = 1;
    for (int one = 0; one < THREADS; one++)
        for (int other = 0; other < THREADS; other++)
            if (one != other && thread_ids[one] == thread_ids[other])
                distinct = 0;
    printf("%d threads: counter %ld, joined %d, the global seen by %d, ids distinct: %s\n", THREADS, counter,
           joined, saw, distinct && thread_ids[0] != syscall(SYS_gettid) ? "yes" : "no");

    struct timespec start, deadline, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 50 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    int waited = pthread_cond_timedwait(&all_here, &lock, &deadline);
    pthread_mutex_unlock(&lock);
    clock_gettime(CLOCK_MONOTONIC, &end);
    long elapsed = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    printf("a timed wait: %s after at least 40 ms: %s\n", strerror(waited), elapsed >= 40 ? "yes" : "no");

    long before = counter;
    int short_joined = 0;
    for (int index = 0; index < SHORT_THREADS; index++) {
        pthread_t thread;
        if (pthread_create(&thread, 0, bump, 0) == 0 && pthread_join(thread, 0) == 0)
            short_joined++;
    }
    printf("%d short threads, one after another: %d joined, counter +%ld\n", SHORT_THREADS, short_joined,
           counter - before);
    return 0;
}

static void *exit_all(void *argument) {
    (void)argument;
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, 0);
    printf("second thread: exit(3)\n");
    fflush(stdout);
    exit(3);
}

static void *fault(void *argument) {
    (void)argument;
    printf("second thread: writing through a null pointer\n");
    fflush(stdout);
    *(volatile int *)argument = 1;
    return 0;
}

static void *last(void *argument) {
    (void)argument;
    struct timespec pause = {0, 30 * 1000 * 1000};
    nanosleep(&pause, 0);
    printf("second thread: the first has ended, this one returns\n");
    fflush(stdout);
    return 0;
}

static void *locker(void *argument) {
    (void)argument;
    pthread_mutex_lock(&lock);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "work";
    pthread_t thread;
    if (strcmp(mode, "work") == 0)
        return run_work();
    if (strcmp(mode, "exit") == 0) {
        pthread_create(&thread, 0, exit_all, 0);
        pthread_join(thread, 0);
        printf("not reached: the join returned\n");
        return 1;
    }
    if (strcmp(mode, "fault") == 0) {
        pthread_create(&thread, 0, fault, 0);
        for (volatile unsigned long spin = 0;; spin++) {
        }
    }
    if (strcmp(mode, "last") == 0) {
        pthread_create(&thread, 0, last, 0);
        printf("first thread: pthread_exit\n");
        fflush(stdout);
        pthread_exit(0);
    }
    if (strcmp(mode, "deadlock") == 0) {
        pthread_mutex_lock(&lock);
        pthread_create(&thread, 0, locker, 0);
        printf("first thread: joining a thread that waits for a mutex this one holds\n");
        fflush(stdout);
        pthread_join(thread, 0);
        return 1;
    }
    printf("unknown mode %s\n", mode);
    return 2;
}
