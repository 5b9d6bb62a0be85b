"""Golden values and gradients of the ordinal (cumulative-link) severity head and its loss.

Run: /usr/bin/python3 reference/ordinal.py  -> reference/golden/ordinal.json
A severity classifier is a cost model whose one scalar score s per response is cut by K-1 ordered
cutpoints theta_1 < ... < theta_{K-1} (McCullagh's proportional-odds / cumulative-logit model):
    P(level >= k) = sigmoid(s - theta_k),  k = 1..K-1
    P(level == k) = P(level >= k) - P(level >= k+1)   (P(level >= 0) = 1, P(level >= K) = 0)
theta_1 is fixed at 0, so that s > 0 <=> P(unsafe) > 1/2 (the cost model's sign convention), and the
others are theta_k = theta_{k-1} + exp(g_{k-1}) for the K-2 free log-gaps g (ordered by construction).
loss = -mean(log P(level == y)) + reg * mean(s^2). The predicted level is the distribution's median, the number
of cutpoints below s (so level > j <=> P(level > j) > 1/2, monotone in s). Computed here the plain way (difference of sigmoids),
independently of the stable form the TypeScript uses.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32 at ~1e-5


def cutpoints(log_gaps):
    return torch.cat([torch.zeros(1), torch.cumsum(torch.exp(log_gaps), 0)])


def probs(scores, cuts):
    ge = torch.sigmoid(scores[:, None] - cuts[None, :])  # (B, K-1)
    ones = torch.ones(scores.shape[0], 1)
    zeros = torch.zeros(scores.shape[0], 1)
    ge = torch.cat([ones, ge, zeros], 1)  # (B, K+1): P(level >= k), k = 0..K
    return ge[:, :-1] - ge[:, 1:]  # (B, K)


def case(name, B, K, reg):
    scores = (2.5 * torch.randn(B)).requires_grad_(True)
    log_gaps = (0.5 * torch.randn(K - 2)).requires_grad_(True)
    levels = torch.randint(0, K, (B,))
    levels[: min(B, K)] = torch.arange(min(B, K))  # every level present
    cuts = cutpoints(log_gaps)
    p = probs(scores, cuts)
    loss = -torch.log(p.gather(1, levels[:, None]).squeeze(1)).mean() + reg * scores.square().mean()
    g_scores, g_gaps = torch.autograd.grad(loss, [scores, log_gaps], allow_unused=True)
    pred = (scores[:, None] > cuts[None, :]).sum(1)  # the median level: cutpoints below the score
    return {
        "name": name,
        "levels": K,
        "scores": scores.detach().tolist(),
        "logGaps": log_gaps.detach().tolist(),
        "labels": levels.tolist(),
        "reg": reg,
        "cutpoints": cuts.detach().tolist(),
        "probs": p.detach().tolist(),
        "loss": loss.item(),
        "accuracy": (pred == levels).double().mean().item(),
        "meanAbsError": (pred - levels).abs().double().mean().item(),
        "signAccuracy": ((scores > 0) == (levels > 0)).double().mean().item(),
        "gradScores": g_scores.tolist(),
        "gradLogGaps": (g_gaps if g_gaps is not None else torch.zeros(0)).tolist(),
    }


out = {"cases": [case("four levels (PKU-SafeRLHF severity)", 10, 4, 0.01), case("six levels, no regulariser", 8, 6, 0.0), case("two levels (safe/unsafe)", 6, 2, 0.001)]}
path = Path(__file__).parent / "golden" / "ordinal.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
