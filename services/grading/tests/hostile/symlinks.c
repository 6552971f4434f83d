// expect: AC
// Plants symlinks to worker files where the worker might later read or chown them
// (CVE-2024-28185 / CVE-2024-28189 in Judge0).
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

int main(void) {
    const char *links[][2] = {{"/etc/shadow", "prog.out"}, {"/etc/shadow", "../build/prog"},
                              {"/proc/1/environ", "/tmp/gradestack-link"}, {"/", "../check/root"}};
    int escaped = 0;
    for (unsigned i = 0; i < sizeof links / sizeof *links; i++) {
        if (symlink(links[i][0], links[i][1]) == 0) {
            printf("ESCAPED symlink %s -> %s\n", links[i][1], links[i][0]);
            escaped = 1;
        }
        if (link(links[i][0], links[i][1]) == 0) {
            printf("ESCAPED hardlink %s\n", links[i][1]);
            escaped = 1;
        }
    }
    if (!escaped) puts("BLOCKED");
    return 0;
}
