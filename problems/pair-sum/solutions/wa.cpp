// Wrong: always prints "1 2".
#include <cstdio>

int main() { std::puts("1 2"); }
