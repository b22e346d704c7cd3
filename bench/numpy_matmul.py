"""The machine's matrix-multiply limit for `npm run bench`: numpy (OpenBLAS/MKL, every core)
float32 n x n products; prints one JSON line {numpy, n, gflops_best, gflops_median}."""
import json
import sys
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b  # warm-up (thread pool start)
rates = []
for _ in range(7):
    reps = 0
    t0 = time.perf_counter()
    while True:
        a @ b
        reps += 1
        dt = time.perf_counter() - t0
        if dt > 0.25:
            break
    rates.append(2 * n**3 * reps / dt / 1e9)
rates.sort()
print(json.dumps({"numpy": np.__version__, "n": n, "gflops_best": rates[-1], "gflops_median": rates[len(rates) // 2]}))
