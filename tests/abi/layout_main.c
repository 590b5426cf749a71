/* abi_layout_v1 / abi_layout_current_*: layout_v1.c's asserts hold if this compiled; main also
 * checks the ROOST_HAS idiom at run time. */
#include <stdio.h>

int roost_abi_layout_v1_checked(void);

int main(void) {
    int rc = roost_abi_layout_v1_checked();
    if (rc != 0) {
        fprintf(stderr, "ROOST_HAS check %d failed\n", rc);
        return 1;
    }
    puts("ABI v1 layout: OK");
    return 0;
}
