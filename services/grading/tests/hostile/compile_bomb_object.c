// expect: CE
// A 2 GB initialised array: the object file would exceed the compile file-size limit.
#define _GNU_SOURCE
int big[1 << 29] = {1};

int main(void) { return big[0]; }
