/* constructors: a program whose constructor runs after its library's (it needs it), and
 * whose destructor runs before the library's, in every cVM; each cVM changes its own
 * copy of the library's state. */
#include <cvm.h>

int library_value(void);
void library_add(int amount);

static int seen;

__attribute__((constructor)) static void program_first(void) {
    seen = library_value();
}

__attribute__((destructor)) static void program_last(void) {
    cvm_printf("constructors: program finalized\n");
}

int main(int argc, char **argv) {
    (void)argv;
    library_add(argc * 100);
    cvm_printf("constructors: the program's constructor saw %d; now %d\n", seen, library_value());
    return 0;
}
