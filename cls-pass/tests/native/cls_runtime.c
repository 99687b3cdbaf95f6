/*
 * A host test runtime for code built with cls-pass: it implements __cls_get_addr the
 * way the intravisor does (ARCHITECTURE section 4), inside one ordinary Linux process.
 * It is compiled WITHOUT the plugin (its own globals are per process).
 *
 * Templates. The CLS sections (".cls.data", ".cls.bss", any ".cls*") are not C
 * identifiers, so the linker defines no __start_/__stop_ symbols for them. Instead, at
 * the first call, the runtime walks every loaded object (dl_iterate_phdr), opens its
 * file (/proc/self/exe for the main program) and reads its section headers: the span of
 * an object's allocated sections whose names start with ".cls", from the first one's
 * start to the last one's end (at load bias + sh_addr), is its one template, as the
 * intravisor's is: every template address of an object is the same distance from its
 * per-instance address (the pass counts on it).
 *
 * Instances. CLS_INSTANCES copies of every template are made from the templates as the
 * dynamic loader left them (relocations already applied, pointing at templates).
 *
 * Relocations. The runtime reads each object's allocated SHT_RELA sections
 * (.rela.dyn): every relocation whose site lies inside a template is a pointer-sized
 * word of CLS data. In each instance copy, such a word that points into any template
 * (of any object) is rebased onto the same instance's copy of that template; other
 * words (function pointers, read-only data) are kept. This is exact, not a scan for
 * values that look like addresses. Packed relative relocations (SHT_RELR, DT_RELR) are
 * not read: link without -z pack-relative-relocs.
 *
 * Lookup. __cls_get_addr(p) returns the current instance's copy of p if p lies in a
 * template, and p itself otherwise (NULL for an undefined weak symbol, addresses of
 * code or read-only data).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cls_runtime.h"

#define CLS_MAX_TEMPLATES 64

struct cls_template {
    uintptr_t start;
    size_t size;
    const char *object; /* file name, for cls_describe */
    unsigned char *instance[CLS_INSTANCES];
};

struct cls_relocation_site {
    uintptr_t address; /* run-time address of the word, inside a template */
};

static struct cls_template templates[CLS_MAX_TEMPLATES];
static int template_count;
static struct cls_relocation_site *sites;
static size_t site_count;
static int current_instance;
static int initialised;

static void fail(const char *what) {
    fprintf(stderr, "cls_runtime: %s\n", what);
    abort();
}

/* Maps the whole file `path` read-only; returns NULL if it cannot. */
static const unsigned char *map_file(const char *path, size_t *size) {
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return NULL;
    struct stat status;
    if (fstat(descriptor, &status) != 0 || status.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(descriptor);
        return NULL;
    }
    void *bytes = mmap(NULL, (size_t)status.st_size, PROT_READ, MAP_PRIVATE, descriptor, 0);
    close(descriptor);
    if (bytes == MAP_FAILED) return NULL;
    *size = (size_t)status.st_size;
    return bytes;
}

static void add_site(uintptr_t address) {
    sites = realloc(sites, (site_count + 1) * sizeof *sites);
    if (!sites) fail("out of memory");
    sites[site_count++].address = address;
}

/* Records the templates and the relocation sites inside them of one object file. */
static void read_object(const char *path, uintptr_t bias) {
    size_t size = 0;
    const unsigned char *file = map_file(path, &size);
    if (!file) return;
    const Elf64_Ehdr *header = (const Elf64_Ehdr *)file;
    if (memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_ident[EI_CLASS] != ELFCLASS64 ||
        header->e_shoff == 0 || header->e_shoff + (size_t)header->e_shnum * sizeof(Elf64_Shdr) > size) {
        munmap((void *)file, size);
        return;
    }
    const Elf64_Shdr *sections = (const Elf64_Shdr *)(file + header->e_shoff);
    const char *names = (const char *)(file + sections[header->e_shstrndx].sh_offset);
    int first = template_count;
    uintptr_t start = UINTPTR_MAX, end = 0;
    for (int index = 0; index < header->e_shnum; index++) {
        const Elf64_Shdr *section = &sections[index];
        if (!(section->sh_flags & SHF_ALLOC) || section->sh_size == 0) continue;
        if (strncmp(names + section->sh_name, ".cls", 4) != 0) continue;
        if (bias + section->sh_addr < start) start = bias + section->sh_addr;
        if (bias + section->sh_addr + section->sh_size > end) end = bias + section->sh_addr + section->sh_size;
    }
    if (start < end) {
        if (template_count == CLS_MAX_TEMPLATES) fail("too many templates");
        struct cls_template *template = &templates[template_count++];
        template->start = start;
        template->size = end - start;
        template->object = strdup(path);
    }
    for (int index = 0; index < header->e_shnum; index++) {
        const Elf64_Shdr *section = &sections[index];
        if (section->sh_type != SHT_RELA || !(section->sh_flags & SHF_ALLOC)) continue;
        const Elf64_Rela *relocations = (const Elf64_Rela *)(file + section->sh_offset);
        size_t count = section->sh_size / sizeof(Elf64_Rela);
        for (size_t entry = 0; entry < count; entry++) {
            uintptr_t site = bias + relocations[entry].r_offset;
            for (int t = first; t < template_count; t++) {
                if (site >= templates[t].start && site + sizeof(void *) <= templates[t].start + templates[t].size) {
                    add_site(site);
                }
            }
        }
    }
    munmap((void *)file, size);
}

static int visit_object(struct dl_phdr_info *info, size_t info_size, void *unused) {
    (void)info_size;
    (void)unused;
    const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe";
    read_object(path, (uintptr_t)info->dlpi_addr);
    return 0;
}

static struct cls_template *template_of(uintptr_t address) {
    for (int t = 0; t < template_count; t++) {
        if (address >= templates[t].start && address < templates[t].start + templates[t].size) return &templates[t];
    }
    return NULL;
}

static void initialise(void) {
    if (initialised) return;
    initialised = 1;
    dl_iterate_phdr(visit_object, NULL);
    for (int t = 0; t < template_count; t++) {
        for (int k = 0; k < CLS_INSTANCES; k++) {
            unsigned char *copy = aligned_alloc(64, (templates[t].size + 63) / 64 * 64);
            if (!copy) fail("out of memory");
            memcpy(copy, (const void *)templates[t].start, templates[t].size);
            templates[t].instance[k] = copy;
        }
    }
    /* Rebase every relocated word that points into a template, in every instance. */
    for (size_t s = 0; s < site_count; s++) {
        struct cls_template *holder = template_of(sites[s].address);
        uintptr_t value;
        memcpy(&value, (const void *)sites[s].address, sizeof value);
        struct cls_template *target = template_of(value);
        if (!holder || !target) continue;
        for (int k = 0; k < CLS_INSTANCES; k++) {
            uintptr_t rebased = (uintptr_t)target->instance[k] + (value - target->start);
            memcpy(holder->instance[k] + (sites[s].address - holder->start), &rebased, sizeof rebased);
        }
    }
}

void *__cls_get_addr(const void *template_address) {
    initialise();
    struct cls_template *template = template_of((uintptr_t)template_address);
    if (!template) return (void *)template_address;
    return template->instance[current_instance] + ((uintptr_t)template_address - template->start);
}

void cls_set_instance(int instance) {
    initialise();
    if (instance < 0 || instance >= CLS_INSTANCES) fail("no such instance");
    current_instance = instance;
}

int cls_instance_of(const void *address) {
    initialise();
    for (int t = 0; t < template_count; t++) {
        for (int k = 0; k < CLS_INSTANCES; k++) {
            uintptr_t start = (uintptr_t)templates[t].instance[k];
            if ((uintptr_t)address >= start && (uintptr_t)address < start + templates[t].size) return k;
        }
    }
    return template_of((uintptr_t)address) ? CLS_TEMPLATE : CLS_ELSEWHERE;
}

int cls_template_count(void) {
    initialise();
    return template_count;
}

size_t cls_relocation_count(void) {
    initialise();
    return site_count;
}
