// expect: RTE|MLE
// Unbounded recursion with a big frame: ends at the stack limit (= the memory limit).
#include <cstdio>

int depth(int n) {
    volatile char frame[4096];
    frame[0] = static_cast<char>(n);
    return depth(n + 1) + frame[0];
}

int main() { std::printf("%d\n", depth(0)); }
