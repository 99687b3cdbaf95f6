/* A shared object with CLS data of its own, used from the program through an extern
 * declaration. Built with cls-pass into libshared.so. */
int shared_counter = 5;
int *shared_pointer = &shared_counter;

int library_bump(int by) {
    shared_counter += by;
    return shared_counter;
}

int *library_counter_address(void) { return &shared_counter; }
