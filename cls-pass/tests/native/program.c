/* An ordinary program with many kinds of globals and no knowledge of CLS: its output
 * with cls-pass and the test runtime (one instance) must equal its output without. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    const char *name;
    int value;
    struct entry *next;
};

static struct entry entries[] = {
    {"delta", 4, &entries[1]},
    {"alpha", 1, &entries[2]},
    {"charlie", 3, &entries[3]},
    {"bravo", 2, NULL},
};
static struct entry *head = &entries[0];
static const char *const greetings[] = {"hello", "bonjour", "hallo"};
static int comparisons;
static char buffer[64];
long total;
double average;
static int (*compare_hook)(const void *, const void *);

static int by_name(const void *left, const void *right) {
    comparisons++;
    return strcmp(((const struct entry *)left)->name, ((const struct entry *)right)->name);
}

static const char *label(int value) {
    static char labels[4][16];
    static int next;
    char *slot = labels[next++ % 4];
    snprintf(slot, sizeof labels[0], "<%d>", value);
    return slot;
}

int main(int argc, char **argv) {
    (void)argv;
    for (struct entry *entry = head; entry; entry = entry->next) total += entry->value;
    average = (double)total / 4;
    compare_hook = by_name;
    struct entry sorted[4];
    memcpy(sorted, entries, sizeof sorted);
    qsort(sorted, 4, sizeof sorted[0], compare_hook);
    for (int i = 0; i < 4; i++) {
        strncat(buffer, sorted[i].name, sizeof buffer - strlen(buffer) - 2);
        strcat(buffer, " ");
    }
    printf("total=%ld average=%.2f argc=%d\n", total, average, argc);
    printf("sorted: %s(%d comparisons)\n", buffer, comparisons > 0);
    for (int i = 0; i < 3; i++) printf("%s %s\n", greetings[i], label(i * 7));
    printf("head=%s next=%s\n", head->name, head->next->name);
    return 0;
}
