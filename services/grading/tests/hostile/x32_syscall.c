// expect: RTE|AC
// The x32 and i386 ABIs bypass a filter written for x86_64 unless it refuses them:
// socket() through either must not succeed (killed = RTE, or refused = BLOCKED).
#define _GNU_SOURCE
#include <stdio.h>

int main(void) {
#if defined(__x86_64__)
    long ret;
    /* x32 socket(AF_INET, SOCK_STREAM, 0): syscall number 41 | 0x40000000 */
    __asm__ volatile("syscall" : "=a"(ret) : "0"(41L | 0x40000000L), "D"(2L), "S"(1L), "d"(0L) : "rcx", "r11", "memory");
    if (ret >= 0) {
        printf("ESCAPED x32 socket fd %ld\n", ret);
        return 0;
    }
#endif
    puts("BLOCKED");
    return 0;
}
