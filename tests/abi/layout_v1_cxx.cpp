// The same asserts as C++: plugins written in C++ see the same layout.
#include "layout_v1.c"

#include <cstdio>

int main() {
    int rc = roost_abi_layout_v1_checked();
    std::printf("ABI v1 layout (C++): %s\n", rc == 0 ? "OK" : "ROOST_HAS check failed");
    return rc == 0 ? 0 : 1;
}
