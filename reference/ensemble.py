"""Golden values and gradients for the ensemble reductions of src/rl/ensemble.ts (reduceEnsemble).

Run: /usr/bin/python3 reference/ensemble.py  -> reference/golden/ensemble.json
scores (K, B) of K members; each reduction gives (B,), and the gradient of sum(w * reduced) in the scores
for fixed random weights w. Reward (worse = lower) and cost (worse = higher):
- mean;
- worst: min over members (reward), max (cost);
- uncertainty (UP-RLHF, Zhai et al. 2024): mean - k*std (reward), mean + k*std (cost), std over the members
  with the population normaliser K (torch.std(unbiased=False));
- robust (reward-robust RLHF / BRME, Yan et al. 2024): lam*mean + (1 - lam)*min (reward),
  lam*mean + (1 - lam)*max (cost); the nominal is the members' mean.
Written directly from the formulas, not by negating the reward forms as the TypeScript does.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(15)
torch.set_default_dtype(torch.float64)
K, B = 4, 6
K_STD, LAM = 1.5, 0.3

scores0 = torch.randn(K, B) * 1.3 + 0.2  # continuous draws: no ties, so min/max have one gradient path
weights = torch.randn(B)

FORMS = {
    'reward': {
        'mean': lambda s: s.mean(0),
        'worst': lambda s: s.min(0).values,
        'uncertainty': lambda s: s.mean(0) - K_STD * s.std(0, unbiased=False),
        'robust': lambda s: LAM * s.mean(0) + (1 - LAM) * s.min(0).values,
    },
    'cost': {
        'mean': lambda s: s.mean(0),
        'worst': lambda s: s.max(0).values,
        'uncertainty': lambda s: s.mean(0) + K_STD * s.std(0, unbiased=False),
        'robust': lambda s: LAM * s.mean(0) + (1 - LAM) * s.max(0).values,
    },
}

cases = []
for stream, forms in FORMS.items():
    for reduce, f in forms.items():
        s = scores0.clone().requires_grad_(True)
        out = f(s)
        (out * weights).sum().backward()
        cases.append({'stream': stream, 'reduce': reduce, 'value': out.detach().tolist(), 'grad': s.grad.tolist()})

# one member: every reduction is that member's score
single = scores0[:1]
out = {'k': K_STD, 'lambda': LAM, 'scores': scores0.tolist(), 'weights': weights.tolist(), 'cases': cases, 'single': single.tolist()}
path = Path(__file__).parent / 'golden' / 'ensemble.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
