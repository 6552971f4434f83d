// expect: MLE
// A 3 GB zero-initialised array: the kernel cannot map it under the address-space limit
// and kills the exec with SIGSEGV; the judge must call that MLE, not RTE.
static char big[3u << 30];

int main(void) {
    big[0] = 1;
    return big[1];
}
