// expect: AC
// The supervisor sets PR_SET_PDEATHSIG(SIGKILL) so the submission dies with it; the
// submission must not be able to clear it (or set any other signal).
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>

int main(void) {
    int escaped = 0;
    if (prctl(PR_SET_PDEATHSIG, 0) == 0) escaped = printf("ESCAPED cleared the parent-death signal\n");
    if (prctl(PR_SET_PDEATHSIG, SIGCHLD) == 0) escaped = printf("ESCAPED changed the parent-death signal\n");
    int sig = -1;
    if (prctl(PR_GET_PDEATHSIG, &sig) == 0 && sig != SIGKILL) escaped = printf("ESCAPED parent-death signal is %d\n", sig);
    if (prctl(PR_SET_DUMPABLE, 1) == 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 || prctl(PR_SET_PTRACER, -1) == 0)
        escaped = printf("ESCAPED prctl\n");
    if (!escaped) puts("BLOCKED");
    return 0;
}
