// expect: TLE
// Like close_and_pause.c, but the sleeping is done by a forked child that closes its fds too,
// while the parent waits for it: the whole process group must go at the wall-clock limit.
// (In the run phase RLIMIT_NPROC=1 refuses the fork; then the parent sleeps itself.)
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    puts("BLOCKED");
    fflush(stdout);
    pid_t child = fork();
    close(0);
    close(1);
    close(2);
    if (child > 0) waitpid(child, NULL, 0);
    for (;;) pause();
}
