// Wrong: pi = 3.14 is not precise enough.
#include <cstdio>

int main() {
    double r;
    std::scanf("%lf", &r);
    std::printf("%.10f\n", 3.14 * r * r);
}
