// C stdio, a large malloc, qsort, <math.h>, <time.h>, getline.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *x, const void *y) {
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, stdin) < 0) return 1;
    long long a, b;
    if (sscanf(line, "%lld %lld", &a, &b) != 2) return 1;
    free(line);
    size_t n = 16u << 20;
    int *v = malloc(n * sizeof *v);
    if (!v) return 1;
    for (size_t i = 0; i < n; i++) v[i] = (int)((i * 2654435761u) % 1000003u);
    qsort(v, 1u << 16, sizeof *v, cmp);
    free(v);
    /* CPU-time clocks and sleeps are real syscalls (the vDSO serves only the others):
     * a failure shows in the answer. */
    struct timespec ts, cpu, nap = {0, 1000000};
    int wrong = clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0 ||
                nanosleep(&nap, NULL) != 0 || time(NULL) == (time_t)-1 || clock() == (clock_t)-1;
    srand((unsigned)time(NULL) ^ (unsigned)ts.tv_nsec);
    double r = sqrt((double)(rand() % 100 + 1)) * 0.0 + floor(0.5);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    printf("%lld\n", a + b + (long long)r + 1000 * wrong);
    return 0;
}
