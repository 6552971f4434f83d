// expect: AC
// Linux AIO (io_setup 206): kernel attack surface a judged program has no use for.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    unsigned long ctx = 0;
    long r = syscall(206, 8, &ctx);
    if (r >= 0 || (errno != EPERM && errno != ENOSYS)) {
        printf("ESCAPED io_setup returned %ld errno %d\n", r, errno);
        syscall(207, ctx); /* io_destroy */
    } else {
        puts("BLOCKED");
    }
    return 0;
}
