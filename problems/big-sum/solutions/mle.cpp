// Keeps every number plus a large useless buffer: exceeds 128 MB.
#include <cstdio>
#include <cstring>
#include <vector>

int main() {
    std::vector<char> waste(200u << 20);
    std::memset(waste.data(), 1, waste.size());
    int n;
    std::scanf("%d", &n);
    long long sum = waste[12345];
    for (int i = 0; i < n; i++) {
        long long x;
        std::scanf("%lld", &x);
        sum += x;
    }
    std::printf("%lld\n", sum - 1);
}
