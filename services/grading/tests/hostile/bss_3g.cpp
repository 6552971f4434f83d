// expect: MLE
// The C++ twin of bss_3g.c: a 3 GB static array is a memory limit breach, not a crash.
#include <cstdio>

static char big[3u << 30];

int main() {
    big[0] = 1;
    std::puts(big[1] ? "?" : "BLOCKED");
}
