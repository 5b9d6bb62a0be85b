"""Golden values and gradients for P3O's pairwise policy losses (src/losses/p3o.ts pairwisePolicyLoss).

Run: /usr/bin/python3 reference/p3o.py  -> reference/golden/p3o.json
Pairwise PPO (Wu et al. 2023, arXiv 2310.00212): rows 2k and 2k+1 answer one prompt; s_i = Σ_t log π_θ (masked),
ρ_i = exp(s_i − s_i,old) the trajectory-wise ratio, Δ = r̃_1 − r̃_2 (KL-folded rewards; advantage +Δ for row 1, −Δ for row 2).
- 'separate' (the paper's V1): each response's ratio clipped on its own,
   per pair ½·[max(−Δ·ρ_1, −Δ·clip(ρ_1)) + max(Δ·ρ_2, Δ·clip(ρ_2))], mean over pairs;
- 'joint' (V2): one ratio for the pair, ρ = ρ_1/ρ_2, clipped as a whole: ½·max(−Δ·ρ, −Δ·clip(ρ)), mean over pairs.
On-policy (ρ = 1) both give the pairwise policy gradient −½·Δ·∇(s_1 − s_2).
"""
import json
from pathlib import Path

import torch

torch.manual_seed(3)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32
B, T = 8, 5
EPS = 0.2


def lst(t):
    return t.detach().tolist()


lengths = [5, 3, 1, 4, 2, 5, 3, 4]
mask = torch.zeros(B, T)
for i, n in enumerate(lengths):
    mask[i, :n] = 1.0
logp0 = torch.randn(B, T) * 0.3 - 1.0
old_logp = logp0 + torch.randn(B, T) * 0.12
reward = torch.randn(B) * 1.5
pairs = reward.view(-1, 2)
delta = pairs[:, 0] - pairs[:, 1]  # (P,)
adv = torch.stack([delta, -delta], 1).flatten()  # (B,) the leave-one-out advantage of G = 2


def clipped(ratio, a):
    return torch.max(-a * ratio, -a * torch.clamp(ratio, 1 - EPS, 1 + EPS))


cases = {}
for variant in ('separate', 'joint'):
    logp = logp0.clone().requires_grad_(True)
    log_ratio = ((logp - old_logp) * mask).sum(1)  # (B,)
    if variant == 'separate':
        ratio = torch.exp(log_ratio)
        loss = clipped(ratio, adv).view(-1, 2).sum(1).mul(0.5).mean()
        outside = ((ratio - 1).abs() > EPS).double().mean()
    else:
        lr = log_ratio.view(-1, 2)
        ratio = torch.exp(lr[:, 0] - lr[:, 1])
        loss = clipped(ratio, delta).mul(0.5).mean()
        outside = ((ratio - 1).abs() > EPS).double().mean()
    (g,) = torch.autograd.grad(loss, logp)
    cases[variant] = {'loss': loss.item(), 'grad': lst(g), 'clipFraction': outside.item()}

# On-policy (old = current): both variants' gradient is the pairwise policy gradient −½·Δ·∇(s_1 − s_2) / P.
logp = logp0.clone().requires_grad_(True)
s = (logp * mask).sum(1).view(-1, 2)
ppg = (-(0.5 * delta) * (s[:, 0] - s[:, 1])).mean()
(g_ppg,) = torch.autograd.grad(ppg, logp)

out = {'logProbs': lst(logp0), 'oldLogProbs': lst(old_logp), 'mask': lst(mask), 'reward': lst(reward), 'advantages': lst(adv),
       'clip': EPS, 'cases': cases, 'onPolicyGrad': lst(g_ppg)}
path = Path(__file__).parent / 'golden' / 'p3o.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print('wrote', path, {k: round(v['loss'], 6) for k, v in cases.items()}, {k: v['clipFraction'] for k, v in cases.items()})
