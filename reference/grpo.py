"""Golden values and gradients for the critic-free RL maths (src/losses/ppo.ts clippedPolicyLoss, k3Kl; src/rl/group.ts).

Run: /usr/bin/python3 reference/grpo.py  -> reference/golden/grpo.json
Follows TRL's GRPOTrainer (_compute_loss, advantage computation) and RLOOTrainer:
- per-token loss -min(ρA, clip(ρ, 1-ε_low, 1+ε_high)A) + β·k3, k3 = exp(ref - logp) - (ref - logp) - 1;
- loss_type 'grpo' (per-sequence mean, then mean), 'bnpo' (token mean over the batch), 'dr_grpo'
  (sum / (B·max_completion_length));
- advantages (r - mean_group)/(std_group + 1e-4), std unbiased (torch.std), scale_rewards group | batch | none;
  normalise-then-sum (GDPO): per-reward group z-scores, weighted sum, batch z-score;
- RLOO: r_i - mean_{j≠i} r_j;
- safe combination (A_r - λ·A_c)/(1 + λ) of group advantages.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(14)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32 at ~1e-5
B, T, G = 6, 5, 3
MAX_LEN = 7  # the 'dr_grpo' normaliser (TRL's max_completion_length), wider than T on purpose


def lst(t):
    return t.detach().tolist()


out = {}
lengths = [5, 3, 1, 4, 2, 5]
mask = torch.zeros(B, T)
for i, n in enumerate(lengths):
    mask[i, :n] = 1.0

logp0 = torch.randn(B, T) * 0.3 - 1.0
old_logp = logp0 + torch.randn(B, T) * 0.25
ref_logp = logp0 + torch.randn(B, T) * 0.3
adv_seq = torch.randn(B)
adv = adv_seq[:, None].expand(B, T).clone()  # a sequence advantage broadcast over its tokens, as GRPO does
eps_low, eps_high, beta = 0.2, 0.28, 0.04

AGG = {
    'per-sequence': lambda x, m: ((x * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean(),  # TRL 'grpo'
    'token': lambda x, m: (x * m).sum() / m.sum().clamp(min=1.0),  # TRL 'bnpo'
    'max-length': lambda x, m: (x * m).sum() / (x.shape[0] * MAX_LEN),  # TRL 'dr_grpo'
}
cases = {}
for name, agg in AGG.items():
    for b in (0.0, beta):
        logp = logp0.clone().requires_grad_(True)
        ratio = torch.exp(logp - old_logp)
        per_token = -torch.min(ratio * adv, torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * adv)
        d = ref_logp - logp
        k3 = torch.exp(d) - d - 1
        if b > 0:
            per_token = per_token + b * k3
        loss = agg(per_token, mask)
        (g,) = torch.autograd.grad(loss, logp)
        outside = ((ratio - 1 > eps_high) | (1 - ratio > eps_low)).double()
        cases[f'{name}/beta={b}'] = {'aggregation': name, 'beta': b, 'loss': loss.item(), 'grad': lst(g),
                                     'clipFraction': ((outside * mask).sum() / mask.sum()).item(),
                                     'k3': ((k3 * mask).sum() / mask.sum()).item()}
out['loss'] = {'logProbs': lst(logp0), 'oldLogProbs': lst(old_logp), 'refLogProbs': lst(ref_logp), 'advantages': lst(adv),
               'mask': lst(mask), 'clipLow': eps_low, 'clipHigh': eps_high, 'maxLength': MAX_LEN, 'cases': cases}

# k3 on its own, with its gradient w.r.t. log π_θ
logp = logp0.clone().requires_grad_(True)
d = ref_logp - logp
k3 = torch.exp(d) - d - 1
(g,) = torch.autograd.grad(k3.sum(), logp)
out['k3'] = {'value': lst(k3), 'grad': lst(g)}

# --- advantages over groups of G consecutive rows ------------------------------------------------
reward = torch.randn(B) * 2 + 1
cost = torch.randn(B)
grouped = reward.view(-1, G)
centred = (grouped - grouped.mean(1, keepdim=True)).flatten()
out['group'] = {
    'groupSize': G,
    'reward': lst(reward),
    'cost': lst(cost),
    'group': lst(centred / (grouped.std(1).repeat_interleave(G) + 1e-4)),
    'batch': lst(centred / (reward.std() + 1e-4)),
    'none': lst(centred),
}
# leave-one-out: the mean of the other G-1 samples of the prompt
loo = torch.stack([reward[i] - torch.cat([reward[(i // G) * G + j:(i // G) * G + j + 1] for j in range(G) if (i // G) * G + j != i]).mean()
                   for i in range(B)])
out['leaveOneOut'] = lst(loo)


def gz(x):
    g = x.view(-1, G)
    return ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + 1e-4)).flatten()


weights = [1.0, -0.5]
s = weights[0] * gz(reward) + weights[1] * gz(cost)
out['normaliseThenSum'] = {'weights': weights, 'advantages': lst((s - s.mean()) / (s.std() + 1e-4))}
# sum-then-normalise of the same mix, for contrast
out['sumThenNormalise'] = lst(gz(weights[0] * reward + weights[1] * cost))

# safe combination of the reward and cost group advantages
lam = 0.7
a_r, a_c = gz(reward), gz(cost)
out['safe'] = {'lambda': lam, 'advantages': lst((a_r - lam * a_c) / (1 + lam))}

path = Path(__file__).parent / 'golden' / 'grpo.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
