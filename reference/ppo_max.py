"""Golden values for the PPO-max switches (src/algorithms/rl/score-normalization.ts, src/algorithms/rl/advantages.ts).

Run: /usr/bin/python3 reference/ppo_max.py  -> reference/golden/ppo_max.json
MOSS-RLHF (Zheng et al. 2023, OpenLMLab/MOSS-RLHF): reward normalisation with running statistics, each step's batch
merged into the running mean and (population) variance first, then `clip((r − μ)/σ, −δ, δ)`; costs scale-only
`clip(c/σ, −δ, δ)` so that their sign survives; advantage clipping `clip(A, −a, a)` after whitening.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(5)
torch.set_default_dtype(torch.float64)
EPS = 1e-8
CLIP = 1.5
batches = [torch.randn(6) * 3 + 2, torch.randn(6) * 2 - 1, torch.randn(6) * 4]
costs = [torch.randn(6) * 2 - 1 for _ in range(3)]


def running(batches, kind):
    seen = torch.empty(0)
    out = []
    for b in batches:
        seen = torch.cat([seen, b])  # the running statistics are those of every score seen so far
        mean, std = seen.mean(), seen.std(unbiased=False)
        y = (b - mean) / (std + EPS) if kind == 'affine' else b / (std + EPS)
        out.append(torch.clamp(y, -CLIP, CLIP).tolist())
    return out


lengths = [5, 3, 1, 4]
mask = torch.zeros(4, 5)
for i, n in enumerate(lengths):
    mask[i, :n] = 1.0
adv = torch.randn(4, 5) * mask
masked = adv[mask > 0]
whitened = (adv - masked.mean()) / torch.sqrt(masked.var(unbiased=False) + 1e-8) * mask
ADV_CLIP = 0.5
out = {
    'clip': CLIP,
    'reward': {'batches': [b.tolist() for b in batches], 'normalised': running(batches, 'affine')},
    'cost': {'batches': [c.tolist() for c in costs], 'normalised': running(costs, 'scale')},
    'advantages': {'values': adv.tolist(), 'mask': mask.tolist(), 'clip': ADV_CLIP, 'whitened': whitened.tolist(),
                   'clipped': torch.clamp(whitened, -ADV_CLIP, ADV_CLIP).tolist()},
}
path = Path(__file__).parent / 'golden' / 'ppo_max.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print('wrote', path)
