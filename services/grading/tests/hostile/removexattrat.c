// expect: AC
// removexattrat (466, Linux 6.13) came after the deny list. Invalid at_flags make an
// unfiltered call fail with EINVAL: any answer but EPERM/ENOSYS means it reached the kernel.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long r = syscall(466, AT_FDCWD, ".", 0x7f000000, "user.gradestack");
    if (r == 0 || (errno != EPERM && errno != ENOSYS)) printf("ESCAPED removexattrat returned %ld errno %d\n", r, errno);
    else puts("BLOCKED");
    return 0;
}
