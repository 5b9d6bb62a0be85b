"""Golden values for HC-RLHF's bound and safety test (src/rl/hc-rlhf.ts) and the inflated J_c of the Lagrange multiplier (src/rl/lagrange.ts).

Run: /usr/bin/python3 reference/hc_rlhf.py  -> reference/golden/hc_rlhf.json   (needs Debian's python3-scipy and python3-torch)
Chittepu et al. 2025 (UMass-SCALAR-Lab/HC-RLHF), as METHODS.md states it:
- inflation k = C1 * t_{1-delta, n_b-1} / sqrt(n_b) + C2 * t_{1-delta, n_s-1} / sqrt(n_s)   (t quantiles: scipy.stats.t.ppf);
- safety test: pass iff mean + t_{1-delta, n_s-1} * std / sqrt(n_s) <= tau, std unbiased (torch.std);
- candidate: the Lagrange multiplier steps on J_c = mean(window) + k * std(window) instead of mean(window)
  (multiplicative rule: log lambda += lr * (J_c - d)).
"""
import json
import math
from pathlib import Path

import torch
from scipy import stats

torch.manual_seed(16)
torch.set_default_dtype(torch.float64)


def t(p, df):
    return float(stats.t.ppf(p, df))


inflations = []
for delta, nb, ns, c1, c2 in [(0.1, 64, 256, 1.0, 1.0), (0.05, 128, 100, 1.0, 1.0), (0.2, 8, 30, 0.5, 2.0), (0.1, 2, 2, 1.0, 1.0)]:
    k = c1 * t(1 - delta, nb - 1) / math.sqrt(nb) + c2 * t(1 - delta, ns - 1) / math.sqrt(ns)
    inflations.append({'delta': delta, 'nBatch': nb, 'nSafety': ns, 'c1': c1, 'c2': c2, 'k': k})

tests = []
for n, mu, sd, tau, delta in [(40, -1.0, 1.5, -0.5, 0.1), (40, -1.0, 1.5, -0.7, 0.1), (12, 0.3, 0.8, 0.5, 0.05), (200, -2.0, 2.0, -1.8, 0.2)]:
    costs = torch.randn(n) * sd + mu
    mean, std = costs.mean().item(), costs.std().item()
    bound = mean + t(1 - delta, n - 1) * std / math.sqrt(n)
    tests.append({'costs': costs.tolist(), 'tau': tau, 'delta': delta, 'mean': mean, 'std': std, 'upperBound': bound, 'passed': bound <= tau})

# the candidate's Lagrange multiplier on an inflated J_c
k, d, lr, window = 0.4, -0.5, 0.1, 6
batches = [(torch.randn(4) * 0.7 + m).tolist() for m in (0.2, -0.1, -0.6, -0.9)]
log_lam, win, trace = 0.0, [], []
for b in batches:
    win = (win + b)[-window:]
    w = torch.tensor(win)
    jc = (w.mean() + k * w.std()).item()
    log_lam += lr * (jc - d)
    trace.append({'jc': jc, 'lambda': math.exp(log_lam)})
lagrange = {'inflation': k, 'threshold': d, 'lr': lr, 'window': window, 'batches': batches, 'trace': trace}

out = {'inflations': inflations, 'tests': tests, 'lagrange': lagrange}
path = Path(__file__).parent / 'golden' / 'hc_rlhf.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
