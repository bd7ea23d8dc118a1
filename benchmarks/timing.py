"""What every benchmark shares: the best of a few repeats, on a given clock."""
import time

def best_of(fn, repeat=3, clock=time.perf_counter):
    "Least time of `repeat` runs of `fn` on `clock` (perf_counter: wall; process_time: this process's CPU), and fn's last result."
    best, res = float('inf'), None
    for _ in range(repeat):
        t = clock(); res = fn(); best = min(best, clock() - t)
    return best, res
