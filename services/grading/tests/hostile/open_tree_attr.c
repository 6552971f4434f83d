// expect: AC
// open_tree_attr (467, Linux 6.15) came after the deny list (which had open_tree): without
// OPEN_TREE_CLONE it needs no privilege and returns an O_PATH descriptor.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long r = syscall(467, AT_FDCWD, "/", 0, NULL, 0);
    if (r >= 0 || (errno != EPERM && errno != ENOSYS)) printf("ESCAPED open_tree_attr returned %ld errno %d\n", r, errno);
    else puts("BLOCKED");
    return 0;
}
