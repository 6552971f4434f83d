"""A slow but correct aplusb solution: the work a fault test can land in, on purpose.

Fault tests (a worker killed mid-job, a broker restarted mid-stream) need a job that is
certainly in flight when the fault strikes. A reference solution is done in milliseconds,
so a kill aimed at it races the job; this one busy-waits ``cpu_ms`` of CPU time on every
test before it answers, which keeps each job running for about ``tests x cpu_ms`` (aplusb
has 4 tests) plus its compile, well inside aplusb's limits (1000 ms of CPU per test, a
wall clock of twice that plus a second). The answer is right, so the verdict is AC.

``tag`` makes each source distinct (no cache may answer an identical submission).
"""

from __future__ import annotations

APLUSB_TIME_LIMIT_MS = 1000


def slow_aplusb_c(cpu_ms: int = 400, tag: str = "") -> str:
    """C source: read a and b, spin ``cpu_ms`` of process CPU time, print a + b."""
    if not 0 < cpu_ms <= APLUSB_TIME_LIMIT_MS // 2:
        raise ValueError(f"cpu_ms={cpu_ms} must stay within half of aplusb's {APLUSB_TIME_LIMIT_MS} ms limit")
    return f"""/* slow but correct: {cpu_ms} ms of CPU per test {tag} */
#include <stdio.h>
#include <time.h>

int main(void) {{
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    clock_t until = clock() + (clock_t)((double){cpu_ms} * CLOCKS_PER_SEC / 1000.0);
    volatile unsigned long spins = 0;
    while (clock() < until) spins++;
    printf("%lld\\n", a + b);
    return 0;
}}
"""
