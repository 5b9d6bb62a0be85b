"""Golden Student-t quantiles and t-intervals for src/eval/intervals.ts, computed with mpmath at 40 digits.

Run: /usr/bin/python3 reference/intervals.py  -> reference/golden/intervals.json
(mpmath ships with Debian's python3-torch via sympy; it is independent of the TypeScript code:
the CDF is mpmath's regularised incomplete beta, the quantile bisection at that precision.)
"""
import json
from pathlib import Path

import mpmath as mp

mp.mp.dps = 40


def t_cdf(t, df):
    t = mp.mpf(t)
    df = mp.mpf(df)
    tail = mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + t * t), regularized=True) / 2
    return 1 - tail if t > 0 else tail


def t_quantile(p, df):
    p = mp.mpf(p)
    lo, hi = mp.mpf(0), mp.mpf(200)  # every case below has its quantile in [0, 200]
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


quantiles = []
for df in [1, 2, 3, 4, 5, 6, 9, 19, 29, 100, 2.5]:
    for p in [0.975, 0.95, 0.995, 0.9, 0.6]:
        quantiles.append({'p': p, 'df': df, 'q': float(t_quantile(p, df))})

cdfs = [{'t': t, 'df': df, 'cdf': float(t_cdf(t, df))} for t, df in [(2.776, 4), (-1.3, 2), (0.4, 7), (10.0, 3), (-3.5, 30)]]


def interval(xs, level=0.95):
    n = len(xs)
    xs = [mp.mpf(x) for x in xs]
    mean = sum(xs) / n
    sd = mp.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile((1 + mp.mpf(level)) / 2, n - 1) * sd / mp.sqrt(n)
    return {'mean': float(mean), 'lo': float(mean - half), 'hi': float(mean + half), 'n': n}


# The PPO-Lag harmful rates over three seeds (5.9 / 2.6 / 3.3%), and two small paired samples.
samples = [[0.059, 0.026, 0.033], [3.63, 3.97, 4.0, 3.5, 3.8], [1.0, 2.0]]
intervals = [{'values': xs, **interval(xs)} for xs in samples]
a = [3.63, 3.97, 4.0]
b = [3.47, 3.55, 3.45]
paired = {'a': a, 'b': b, **interval([x - y for x, y in zip(a, b)])}

out = {'quantiles': quantiles, 'cdfs': cdfs, 'intervals': intervals, 'paired': paired}
path = Path(__file__).parent / 'golden' / 'intervals.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
