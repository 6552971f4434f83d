// expect: AC
// listmount (458, Linux 6.8) came after the deny list. A NULL request makes an unfiltered
// call fail with EFAULT: any answer but EPERM/ENOSYS means it reached the kernel.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    unsigned long long ids[16];
    long r = syscall(458, NULL, ids, 16, 0);
    if (r >= 0 || (errno != EPERM && errno != ENOSYS)) printf("ESCAPED listmount returned %ld errno %d\n", r, errno);
    else puts("BLOCKED");
    return 0;
}
