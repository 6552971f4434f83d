// expect: RTE|AC
// The i386 ABI (int 0x80) has its own syscall numbers: a filter written for x86_64 must
// refuse it (killed = RTE, or refused = BLOCKED), never run socket() through it.
#define _GNU_SOURCE
#include <stdio.h>

int main(void) {
#if defined(__x86_64__)
    long ret;
    /* i386 socket(AF_INET, SOCK_STREAM, 0) is syscall 359 */
    __asm__ volatile("int $0x80" : "=a"(ret) : "0"(359L), "b"(2L), "c"(1L), "d"(0L) : "memory");
    if (ret >= 0) {
        printf("ESCAPED i386 socket fd %ld\n", ret);
        return 0;
    }
#endif
    puts("BLOCKED");
    return 0;
}
