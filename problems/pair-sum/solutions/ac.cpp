// Hash map of values seen so far; prints the LAST valid pair it finds first from the right,
// which differs from the reference answer on some tests: only a custom checker accepts it.
#include <cstdio>
#include <unordered_map>
#include <vector>

int main() {
    int n;
    long long t;
    std::scanf("%d %lld", &n, &t);
    std::vector<long long> a(n);
    for (auto &x : a) std::scanf("%lld", &x);
    std::unordered_map<long long, int> seen;
    for (int j = n - 1; j >= 0; j--) {
        auto it = seen.find(t - a[j]);
        if (it != seen.end()) {
            std::printf("%d %d\n", it->second + 1, j + 1);
            return 0;
        }
        seen[a[j]] = j;
    }
}
