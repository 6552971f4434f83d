// expect: AC
// modify_ldt (154): 16-bit segments are an old exploit primitive and never needed here.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    char ldt[64];
    long r = syscall(154, 0 /* read */, ldt, sizeof ldt);
    if (r >= 0 || (errno != EPERM && errno != ENOSYS)) printf("ESCAPED modify_ldt returned %ld errno %d\n", r, errno);
    else puts("BLOCKED");
    return 0;
}
