// expect: AC
// fchmodat2 (452, Linux 6.6) came after the deny list: it must be refused by default.
// The target is a pipe the program owns, so an unfiltered call succeeds.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    long r = syscall(452, fds[0], "", 0600, 0x1000 /* AT_EMPTY_PATH */);
    if (r == 0 || (errno != EPERM && errno != ENOSYS)) printf("ESCAPED fchmodat2 returned %ld errno %d\n", r, errno);
    else puts("BLOCKED");
    return 0;
}
