// expect: AC
// Tries to read the expected output next to its input (through /proc/self/fd/0) and the
// problem files of the worker.
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/fd/0", path, sizeof path - 8);
    if (n > 3 && n < PATH_MAX - 8) {
        path[n] = 0;
        char *dot = strrchr(path, '.');
        if (dot) strcpy(dot, ".out");
        FILE *f = fopen(path, "r");
        if (f) {
            char buf[256] = {0};
            fread(buf, 1, sizeof buf - 1, f);
            printf("ESCAPED read %s: %s\n", path, buf);
            return 0;
        }
    }
    puts("BLOCKED");
    return 0;
}
