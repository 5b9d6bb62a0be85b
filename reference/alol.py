"""Golden values and gradients for A-LoL's losses (src/losses/alol.ts), Baheti et al. 2023, as abaheti95/LoL-RL's lolrl_qlora_llama_hh.py computes them.

Run: /usr/bin/python3 reference/alol.py  -> reference/golden/alol.json
Per response (prompt x, response y of T tokens, mask over response tokens), NLL_t = -log pi_theta(y_t), NLL = sum_t NLL_t,
A = max(R - V, 0) the advantage (already clipped at 0 by the caller), eps the ratio clip (0.9), beta the KL weight (0.2):
  alol     : mean_b A_b * clip(exp(sum_t logp_t - sum_t ref_t), 1-eps, 1+eps).detach() * NLL_b
  seq      : mean_b A_b * sum_t clip(exp(logp_t - ref_t), 1-eps, 1+eps).detach() * NLL_bt
  ref-free : mean_b A_b * NLL_b
  kl       : mean_b A_b * NLL_b + beta * mean_b (sum_t logp_t - sum_t ref_t)
Gradients w.r.t. the policy's per-token log-probs.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(2310)
torch.set_default_dtype(torch.float64)
B, T = 5, 6


def lst(t):
    return t.detach().tolist()


lengths = [6, 4, 1, 5, 3]
mask = torch.zeros(B, T)
for i, n in enumerate(lengths):
    mask[i, :n] = 1.0
logp = (torch.randn(B, T) * 0.5 - 1.5).clamp(max=-0.05)
ref = (logp + torch.randn(B, T) * 0.4).clamp(max=-0.05)
adv = torch.tensor([0.7, 0.0, 1.3, 0.2, 2.1])


def loss_of(variant, lp, eps, beta):
    nll_t = -lp * mask
    nll = nll_t.sum(1)
    seq_ratio = torch.exp(((lp - ref) * mask).sum(1))
    if variant == "alol":
        return (adv * seq_ratio.clamp(1 - eps, 1 + eps).detach() * nll).mean()
    if variant == "seq":
        tok_ratio = torch.exp(lp - ref).clamp(1 - eps, 1 + eps).detach()
        return (adv * (tok_ratio * nll_t).sum(1)).mean()
    if variant == "ref-free":
        return (adv * nll).mean()
    if variant == "kl":
        return (adv * nll).mean() + beta * ((lp - ref) * mask).sum(1).mean()
    raise ValueError(variant)


out = {"logProbs": lst(logp), "refLogProbs": lst(ref), "mask": lst(mask), "advantages": lst(adv), "cases": []}
for variant, eps, beta in [("alol", 0.9, 0.0), ("alol", 0.2, 0.0), ("seq", 0.9, 0.0), ("seq", 0.2, 0.0), ("ref-free", 0.9, 0.0), ("kl", 0.9, 0.2), ("kl", 0.9, 1.5)]:
    lp = logp.clone().requires_grad_()
    loss = loss_of(variant, lp, eps, beta)
    (g,) = torch.autograd.grad(loss, lp)
    out["cases"].append({"variant": variant, "clip": eps, "beta": beta, "loss": loss.item(), "grad": lst(g * mask),
                         "nll": (-logp * mask).sum(1).mean().item(), "logRatio": ((logp - ref) * mask).sum(1).mean().item()})

Path(__file__).parent.joinpath("golden", "alol.json").write_text(json.dumps(out))
print("wrote reference/golden/alol.json:", len(out["cases"]), "cases")
