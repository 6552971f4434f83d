// expect: AC
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(void) {
    int escaped = 0;
    if (ptrace(PTRACE_ATTACH, getppid(), 0, 0) == 0) escaped = puts("ESCAPED ptrace parent") > 0;
    if (ptrace(PTRACE_ATTACH, 1, 0, 0) == 0) escaped = puts("ESCAPED ptrace init") > 0;
    if (!escaped) puts("BLOCKED");
    return 0;
}
