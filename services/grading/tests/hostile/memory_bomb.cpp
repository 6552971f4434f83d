// expect: MLE
// Allocates and touches memory until something gives.
#include <cstdlib>
#include <cstring>
#include <vector>

int main() {
    std::vector<char *> blocks;
    for (;;) {
        char *p = static_cast<char *>(std::malloc(1 << 20));
        if (!p) std::abort();
        std::memset(p, 1, 1 << 20);
        blocks.push_back(p);
    }
}
