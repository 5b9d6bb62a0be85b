"""Golden values of best-of-N with Llama 2's safety-aware score (Touvron et al. 2023, section 3.2.3).

Run: /usr/bin/python3 reference/best_of_n.py  -> reference/golden/best_of_n.json
R_s = sigmoid(-cost) (safety), R_h = sigmoid(reward) (helpfulness);
R_c = R_s if (prompt is risky or R_s < 0.15) else R_h; best-of-N picks argmax R_c over the first N samples.
A prompt with no flag (None) is risky when any of its N samples has R_s < 0.15 (the cost model decides);
riskyPrompts 'cost-model' ignores the flags. Also: mean over prompts of the median and max reward of the N samples,
harmful rate (picked cost > 0), and the KL bound log N - (N - 1)/N.
"""
import json
import math
from pathlib import Path

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
P, K, THRESHOLD = 12, 16, 0.15
rewards = 1.5 * torch.randn(P, K)
# unsafe answers are the more helpful ones, as in the paper: reward rises with cost
costs = 2 * torch.randn(P, K) + 0.5
rewards = rewards + 0.6 * costs
risky = [True, False, None, True, False, None, False, True, None, False, False, None]


def pick(r, c, flag, mode):
    rs = torch.sigmoid(-c)
    rh = torch.sigmoid(r)
    is_risky = flag if (mode == 'auto' and flag is not None) else bool((rs < THRESHOLD).any())
    rc = torch.where(torch.tensor(is_risky) | (rs < THRESHOLD), rs, rh)
    return int(torch.argmax(rc)), rc.tolist()


out = {"rewards": rewards.tolist(), "costs": costs.tolist(), "risky": risky, "safetyThreshold": THRESHOLD, "modes": {}}
for mode in ['auto', 'cost-model']:
    per_n = []
    for n in [1, 2, 4, 8, 16]:
        picks, scores = zip(*[pick(rewards[p, :n], costs[p, :n], risky[p], mode) for p in range(P)])
        pr = torch.stack([rewards[p, i] for p, i in enumerate(picks)])
        pc = torch.stack([costs[p, i] for p, i in enumerate(picks)])
        per_n.append({
            "n": n,
            "picks": list(picks),
            "scores": list(scores),
            "meanReward": pr.mean().item(),
            "meanCost": pc.mean().item(),
            "harmfulRate": (pc > 0).double().mean().item(),
            "medianReward": torch.quantile(rewards[:, :n], 0.5, dim=1).mean().item(),
            "maxReward": rewards[:, :n].max(dim=1).values.mean().item(),
            "klBound": math.log(n) - (n - 1) / n,
        })
    out["modes"][mode] = per_n
path = Path(__file__).parent / "golden" / "best_of_n.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
