// expect: AC
// The ECS credentials endpoint, the EC2 metadata service and loopback ports must be unreachable.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int try_connect(int family, int type, const char *ip, int port) {
    int s = socket(family, type, 0);
    if (s < 0) return 0;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok || 1; /* a socket at all is an escape */
}

int main(void) {
    int escaped = 0;
    const char *ips[] = {"169.254.170.2", "169.254.169.254", "127.0.0.1"};
    int ports[] = {80, 80, 22};
    for (int i = 0; i < 3; i++) {
        escaped += try_connect(AF_INET, SOCK_STREAM, ips[i], ports[i]);
        escaped += try_connect(AF_INET, SOCK_DGRAM, ips[i], 53);
    }
    escaped += socket(AF_INET6, SOCK_STREAM, 0) >= 0;
    escaped += socket(AF_UNIX, SOCK_STREAM, 0) >= 0;
    escaped += socket(AF_NETLINK, SOCK_RAW, 0) >= 0;
    if (escaped) printf("ESCAPED %d sockets\n", escaped);
    else puts("BLOCKED");
    return 0;
}
