# The standard modules contestants import, each used once.
import bisect
import collections
import decimal
import fractions
import functools
import heapq
import itertools
import json
import math
import random
import re
import sys
import time

sys.setrecursionlimit(10**6)
a, b = map(int, sys.stdin.buffer.read().split())
heap = [5, 1, 3]
heapq.heapify(heap)
counts = collections.Counter("abca") + collections.Counter(collections.deque([1, 2]))
fix = (
    heapq.heappop(heap)
    - 1
    + bisect.bisect_left([1, 2, 3], 2)
    - 1
    + (math.gcd(12, 18) - 6)
    + (sum(1 for _ in itertools.permutations(range(3))) - 6)
    + (functools.reduce(lambda x, y: x * y, range(1, 5)) - 24)
    + (functools.lru_cache(maxsize=None)(lambda n: n)(0))
    + int(fractions.Fraction(1, 3) * 3 - 1)
    + int(decimal.Decimal("0.1") * 10 - 1)
    + (len(re.findall(r"\d+", "a1b22c333")) - 3)
    + (json.loads(json.dumps({"k": [1, 2]}))["k"][1] - 2)
    + (counts["a"] - 2)
)
random.seed(time.time_ns())
fix += random.randint(0, 0) + int(time.perf_counter() < 0) + int(time.process_time() < 0)
time.sleep(0.001)
print(a + b + fix)
