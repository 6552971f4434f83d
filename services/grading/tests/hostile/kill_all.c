// expect: AC
// kill(-1, SIGKILL) and friends: may only ever reach the submission's own processes.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int escaped = 0;
    if (kill(1, SIGKILL) == 0) escaped = puts("ESCAPED killed pid 1") > 0;
    if (kill(getppid(), SIGKILL) == 0) escaped = puts("ESCAPED killed the parent") > 0;
    kill(-1, SIGKILL); /* everything this uid may signal, except ourselves */
    if (!escaped) puts("BLOCKED");
    return 0;
}
