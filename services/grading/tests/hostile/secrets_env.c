// expect: AC
// Looks for credentials: its own environment, PID 1's, its parent's; dumps whatever it can read.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int dump(const char *path) {
    char buf[65536];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0) buf[i] = ' ';
    buf[n] = 0;
    printf("ESCAPED %s: %s\n", path, buf);
    return 1;
}

int main(void) {
    int escaped = 0;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "AWS_", 4) == 0 || strstr(*e, "ECS_") || strstr(*e, "MQ_") || strstr(*e, "canary")) {
            printf("ESCAPED env %s\n", *e);
            escaped = 1;
        }
    }
    char path[64];
    escaped |= dump("/proc/1/environ");
    snprintf(path, sizeof path, "/proc/%d/environ", (int)getppid());
    escaped |= dump(path);
    for (int pid = 2; pid < 64; pid++) {
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        if (pid != getpid()) escaped |= dump(path);
    }
    if (!escaped) puts("BLOCKED");
    return 0;
}
