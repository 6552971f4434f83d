// expect: AC
// Syscall numbers this kernel does not have yet: a default-deny filter answers EPERM
// itself. ENOSYS would mean the call went to the kernel, as would any future syscall's.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int escaped = 0;
    const long numbers[] = {470, 471, 499, 511};
    for (unsigned i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        long r = syscall(numbers[i], 0, 0, 0, 0, 0, 0);
        if (r >= 0 || errno != EPERM) escaped = printf("ESCAPED syscall %ld: returned %ld errno %d\n", numbers[i], r, errno);
    }
    if (!escaped) puts("BLOCKED");
    return 0;
}
