// expect: TLE
// Prints the answer, closes stdout and stderr, then sleeps: the reader sees EOF at once and
// no CPU is used, so only a wall-clock limit that does not depend on the pipes can stop it.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    puts("BLOCKED");
    fflush(stdout);
    close(1);
    close(2);
    for (;;) pause();
}
