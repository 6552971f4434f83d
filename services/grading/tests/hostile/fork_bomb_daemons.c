// expect: AC
// Tries to leave background processes behind (double fork, new session): they must all
// be refused or killed when the run ends.
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int escaped = 0;
    for (int i = 0; i < 50; i++) {
        pid_t p = fork();
        if (p == 0) {
            setsid();
            if (fork() == 0) {
                for (;;) pause();
            }
            _exit(0);
        }
        if (p > 0) escaped++;
    }
    if (escaped == 0 && setsid() < 0) puts("BLOCKED");
    else printf("ESCAPED %d children\n", escaped);
    return 0;
}
