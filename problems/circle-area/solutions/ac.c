#include <math.h>
#include <stdio.h>

int main(void) {
    double r;
    if (scanf("%lf", &r) != 1) return 1;
    printf("%.9f\n", acos(-1.0) * pow(r, 2));
    return 0;
}
