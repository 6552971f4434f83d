// expect: TLE
// Classic fork bomb: RLIMIT_NPROC makes fork() fail, the loop burns CPU until the limit.
#define _GNU_SOURCE
#include <unistd.h>

int main(void) {
    for (;;) fork();
}
