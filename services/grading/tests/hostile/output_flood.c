// expect: OLE
#define _GNU_SOURCE
#include <stdio.h>

int main(void) {
    for (;;) puts("flood flood flood flood flood flood flood flood flood flood flood flood");
}
