"""Golden values for per-category constraints (src/rl/category-lagrange.ts, src/rl/advantage.ts combineAdvantages with per-row λ).

Run: /usr/bin/python3 reference/category_lagrange.py  -> reference/golden/category_lagrange.json
One Lagrange multiplier per harm category k (J_c,k <= d_k): each step, the episode costs of category k join that
category's window, J_c,k = mean(window_k), and log λ_k takes torch SGD on −(J_c,k − d_k)·log λ_k ('multiplicative'
rule); a category with no episode in a step keeps its λ and window. Each row's actor advantage then uses the λ of its
category: (A_r − λ_k(i)·A_c)/(1 + λ_k(i)).
"""
import json
from pathlib import Path

import torch

torch.manual_seed(11)
torch.set_default_dtype(torch.float64)
LR, WIN = 0.2, 4
thresholds = {'violence': 0.0, 'privacy': -1.0}
steps = [
    {'costs': [1.0, 2.0, -0.5, 0.5], 'categories': ['violence', 'privacy', 'privacy', 'violence']},
    {'costs': [0.5, -2.0, -1.5], 'categories': ['violence', 'privacy', 'privacy']},
    {'costs': [-1.0, -0.5], 'categories': ['violence', 'violence']},
    {'costs': [-3.0, -2.5, 1.0], 'categories': ['privacy', 'privacy', 'violence']},
]
params = {k: torch.tensor(0.0, requires_grad=True) for k in thresholds}  # λ init 1
opts = {k: torch.optim.SGD([p], lr=LR) for k, p in params.items()}
windows = {k: [] for k in thresholds}
trace = []
for s in steps:
    rec = {}
    for k in thresholds:
        costs = [c for c, cat in zip(s['costs'], s['categories']) if cat == k]
        if not costs:
            rec[k] = {'lambda': params[k].exp().item(), 'jc': None}
            continue
        windows[k] = (windows[k] + costs)[-WIN:]
        jc = sum(windows[k]) / len(windows[k])
        opts[k].zero_grad()
        (-(jc - thresholds[k]) * params[k]).backward()
        opts[k].step()
        rec[k] = {'lambda': params[k].exp().item(), 'jc': jc}
    trace.append(rec)

B, T = 4, 3
ar, ac = torch.randn(B, T), torch.randn(B, T)
lambdas = torch.tensor([0.5, 2.0, 0.0, 7.0])
combined = (ar - lambdas[:, None] * ac) / (1 + lambdas[:, None])
out = {'lr': LR, 'window': WIN, 'thresholds': thresholds, 'steps': steps, 'trace': trace,
       'combine': {'rewardAdvantages': ar.tolist(), 'costAdvantages': ac.tolist(), 'lambdas': lambdas.tolist(), 'combined': combined.tolist()}}
path = Path(__file__).parent / 'golden' / 'category_lagrange.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print('wrote', path, trace[-1])
