/* format.c: cvm_printf and cvm_snprintf for programs inside a cVM.
 *
 * A small formatter with no libc underneath: %s %c %d %i %u %x %p %%, the l and ll
 * length modifiers, a field width and the 0 flag. It writes through cvm_write only.
 */
#include <stdarg.h>
#include <cvm.h>

struct sink {
    char *buffer;   /* where output goes; NULL means "count only" */
    size_t size;    /* room in buffer, terminator included */
    size_t length;  /* bytes the full output has */
};

static void put(struct sink *sink, char c) {
    if (sink->buffer && sink->length + 1 < sink->size)
        sink->buffer[sink->length] = c;
    sink->length++;
}

static void put_number(struct sink *sink, unsigned long long value, unsigned base,
                       int negative, int width, char pad) {
    char digits[24];
    int count = 0;
    do {
        unsigned digit = (unsigned)(value % base);
        digits[count++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    int total = count + negative;
    if (negative && pad == '0')
        put(sink, '-');
    for (; total < width; total++)
        put(sink, pad);
    if (negative && pad != '0')
        put(sink, '-');
    while (count > 0)
        put(sink, digits[--count]);
}

static void format(struct sink *sink, const char *format, va_list arguments) {
    for (const char *p = format; *p; p++) {
        if (*p != '%') {
            put(sink, *p);
            continue;
        }
        p++;
        char pad = ' ';
        if (*p == '0') {
            pad = '0';
            p++;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        int longs = 0;
        while (*p == 'l') {
            longs++;
            p++;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            long long value = longs ? va_arg(arguments, long long) : va_arg(arguments, int);
            unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
                                                     : (unsigned long long)value;
            put_number(sink, magnitude, 10, value < 0, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long value = longs ? va_arg(arguments, unsigned long long)
                                             : va_arg(arguments, unsigned int);
            put_number(sink, value, *p == 'x' ? 16 : 10, 0, width, pad);
            break;
        }
        case 'p':
            put(sink, '0');
            put(sink, 'x');
            put_number(sink, (unsigned long long)(size_t)va_arg(arguments, void *), 16, 0,
                       width, pad);
            break;
        case 'c':
            put(sink, (char)va_arg(arguments, int));
            break;
        case 's': {
            const char *text = va_arg(arguments, const char *);
            if (!text)
                text = "(null)";
            int length = 0;
            while (text[length])
                length++;
            for (; length < width; width--)
                put(sink, ' ');
            while (*text)
                put(sink, *text++);
            break;
        }
        case '%':
            put(sink, '%');
            break;
        case '\0':
            return;
        default:
            put(sink, '%');
            put(sink, *p);
        }
    }
}

int cvm_snprintf(char *buffer, size_t size, const char *text, ...) {
    struct sink sink = {buffer, size, 0};
    va_list arguments;
    va_start(arguments, text);
    format(&sink, text, arguments);
    va_end(arguments);
    if (buffer && size > 0)
        buffer[sink.length < size ? sink.length : size - 1] = '\0';
    return (int)sink.length;
}

int cvm_printf(const char *text, ...) {
    char buffer[1024];
    struct sink sink = {buffer, sizeof buffer, 0};
    va_list arguments;
    va_start(arguments, text);
    format(&sink, text, arguments);
    va_end(arguments);
    size_t length = sink.length < sizeof buffer - 1 ? sink.length : sizeof buffer - 1;
    return (int)cvm_write(CVM_STDOUT, buffer, length);
}
