// expect: AC
// Tries to create or modify files anywhere: its cwd, /tmp, the job directory, /etc.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    const char *targets[] = {"pwned", "../pwned", "../build/pwned", "/tmp/gradestack-pwned", "/dev/shm/pwned",
                             "/etc/passwd"};
    int escaped = 0;
    for (unsigned i = 0; i < sizeof targets / sizeof *targets; i++) {
        int fd = open(targets[i], O_WRONLY | O_CREAT | O_APPEND, 0666);
        if (fd >= 0) {
            printf("ESCAPED opened %s for writing\n", targets[i]);
            close(fd);
            escaped = 1;
        }
    }
    if (mkdir("/tmp/gradestack-pwned-dir", 0777) == 0) escaped = puts("ESCAPED mkdir") > 0;
    if (!escaped) puts("BLOCKED");
    return 0;
}
