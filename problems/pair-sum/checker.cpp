// Custom checker for pair-sum: any valid pair is accepted.
// Called as: checker INPUT ANSWER OUTPUT. Exit 0 = AC, 1 = WA, 3 = checker failure.
#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
    if (argc != 4) return 3;
    FILE *in = std::fopen(argv[1], "r");
    FILE *out = std::fopen(argv[3], "r");
    if (!in || !out) return 3;
    long long n, t;
    if (std::fscanf(in, "%lld %lld", &n, &t) != 2) return 3;
    std::vector<long long> a(n + 1);
    for (long long k = 1; k <= n; k++)
        if (std::fscanf(in, "%lld", &a[k]) != 1) return 3;
    long long i, j;
    if (std::fscanf(out, "%lld %lld", &i, &j) != 2) {
        std::puts("expected two indices");
        return 1;
    }
    char extra;
    if (std::fscanf(out, " %c", &extra) == 1) {
        std::puts("extra output after the two indices");
        return 1;
    }
    if (i < 1 || i > n || j < 1 || j > n || i == j) {
        std::printf("indices %lld %lld out of range or equal\n", i, j);
        return 1;
    }
    if (a[i] + a[j] != t) {
        std::printf("a[%lld] + a[%lld] = %lld, not %lld\n", i, j, a[i] + a[j], t);
        return 1;
    }
    std::puts("ok");
    return 0;
}
