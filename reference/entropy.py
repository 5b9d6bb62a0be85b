"""Golden values and gradients for the entropy bonus (src/losses/entropy.ts tokenEntropy, entropyBonus).

Run: /usr/bin/python3 reference/entropy.py  -> reference/golden/entropy.json
H = -sum_v softmax(z)_v * log_softmax(z)_v per position (torch.distributions.Categorical(logits=z).entropy()
gives the same, checked below); the bonus as a loss is -coef * mean_mask(H) with the three aggregations of
the actor loss ('token' over all response tokens, 'per-sequence', 'max-length' = sum / (B * max_len)).
"""
import json
from pathlib import Path

import torch

torch.manual_seed(21)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32 at ~1e-5
B, T, V = 3, 4, 6
MAX_LEN = 6
COEF = 0.05

lengths = [4, 2, 1]
mask = torch.zeros(B, T)
for i, n in enumerate(lengths):
    mask[i, :n] = 1.0
logits = torch.randn(B, T, V) * 1.5
logits[0, 1] = torch.tensor([8.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # a nearly deterministic position (H ~ 0)

AGG = {
    'token': lambda x, m: (x * m).sum() / m.sum().clamp(min=1e-8),
    'per-sequence': lambda x, m: ((x * m).sum(-1) / m.sum(-1).clamp(min=1e-8)).mean(),
    'max-length': lambda x, m: (x * m).sum() / (x.shape[0] * MAX_LEN),
}


def entropy(z):
    logp = torch.log_softmax(z, dim=-1)
    return -(logp.exp() * logp).sum(-1)


h = entropy(logits)
assert torch.allclose(h, torch.distributions.Categorical(logits=logits).entropy())
cases = {}
for name, agg in AGG.items():
    z = logits.clone().requires_grad_(True)
    loss = -COEF * agg(entropy(z), mask)
    loss.backward()
    cases[name] = {'loss': loss.item(), 'grad': z.grad.tolist()}

out = {
    'coef': COEF,
    'maxLength': MAX_LEN,
    'logits': logits.tolist(),
    'mask': mask.tolist(),
    'entropy': h.tolist(),
    'tokenMean': ((h * mask).sum() / mask.sum()).item(),
    'cases': cases,
}
path = Path(__file__).parent / 'golden' / 'entropy.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print('wrote', path)
