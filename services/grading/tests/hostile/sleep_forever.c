// expect: TLE
// Uses no CPU at all: only the wall-clock limit stops it.
#define _GNU_SOURCE
#include <unistd.h>

int main(void) {
    for (;;) sleep(100);
}
