// expect: TLE
// Tries to leave a detached sleeper behind with closed fds: setsid (denied by seccomp),
// then a double fork whose middle process exits. The parent closes its fds and sleeps.
// The wall-clock limit must end the run; the slot-wide kill takes the orphaned grandchild.
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

int main(void) {
    puts(setsid() < 0 ? "BLOCKED" : "ESCAPED setsid");
    fflush(stdout);
    pid_t middle = fork();
    if (middle == 0) {
        setsid();
        if (fork() == 0) {
            close(0);
            close(1);
            close(2);
            for (;;) pause();
        }
        _exit(0);
    }
    close(0);
    close(1);
    close(2);
    for (;;) pause();
}
