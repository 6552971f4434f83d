// expect: AC
// System V IPC and POSIX message queues outlive the process: a segment created here
// would stay resident after the verdict and be readable by a later submission. Every
// successful call leaves its object behind on purpose (test_hostile.py looks for it).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY 0x67726164 /* a well-known key a later submission could look up */

int main(void) {
    int escaped = 0;
    int shm = shmget(KEY, 4 << 20, IPC_CREAT | 0666);
    if (shm < 0) shm = shmget(IPC_PRIVATE, 4 << 20, IPC_CREAT | 0600);
    if (shm >= 0) {
        escaped = printf("ESCAPED shmget id %d\n", shm);
        char *p = shmat(shm, NULL, 0);
        if (p != (char *)-1) memset(p, 'A', 4 << 20); /* resident after we exit */
    }
    int msg = msgget(KEY, IPC_CREAT | 0666);
    if (msg >= 0) escaped = printf("ESCAPED msgget id %d\n", msg);
    int sem = semget(KEY, 1, IPC_CREAT | 0666);
    if (sem >= 0) escaped = printf("ESCAPED semget id %d\n", sem);
    /* Existing objects of anyone: a lookup without IPC_CREAT must be refused too. */
    if (shmget(KEY, 0, 0) >= 0 || shmctl(0, IPC_STAT, &(struct shmid_ds){0}) >= 0) escaped = printf("ESCAPED shm lookup\n");
    long mq = syscall(SYS_mq_open, "gradestack", O_CREAT | O_RDWR, 0600, NULL);
    if (mq >= 0 || (errno != EPERM && errno != ENOSYS)) escaped = printf("ESCAPED mq_open returned %ld errno %d\n", mq, errno);
    if (!escaped) puts("BLOCKED");
    return 0;
}
