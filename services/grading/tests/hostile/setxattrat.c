// expect: AC
// setxattrat (463, Linux 6.13) came after the deny list. usize 0 makes an unfiltered
// call fail with EINVAL: any answer but EPERM/ENOSYS means it reached the kernel.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    char value[] = "x";
    struct { unsigned long long value; unsigned int size, flags; } args = {(unsigned long long)(unsigned long)value, 1, 0};
    long r = syscall(463, AT_FDCWD, ".", 0, "user.gradestack", &args, 0);
    if (r == 0 || (errno != EPERM && errno != ENOSYS)) printf("ESCAPED setxattrat returned %ld errno %d\n", r, errno);
    else puts("BLOCKED");
    return 0;
}
