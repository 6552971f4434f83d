// expect: CE
// The preprocessor reads an endless device: must end as CE (memory or time limit), not a hang.
#include </dev/random>

int main() {}
