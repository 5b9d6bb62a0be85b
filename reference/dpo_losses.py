"""Golden values and gradients for safealign's preference losses (src/losses/dpo.ts, src/losses/safe-dpo.ts).

Run: /usr/bin/python3 reference/dpo_losses.py  -> reference/golden/dpo_losses.json
Formulas (../shared/METHODS.md, TRL's DPOTrainer): h = sum of response-token log pi_theta - log pi_ref,
z = beta*(h_w - h_l) - offset (offset = (u_l - u_w)*Delta for SafeDPO, u = 1[unsafe]; 0 for plain DPO).
  sigmoid (DPO; cDPO with label smoothing eps, TRL loss_type='sigmoid'): -(1-eps)*logsig(z) - eps*logsig(-z)
  robust  (rDPO, Chowdhury et al. 2024, TRL loss_type='robust'):       (-(1-eps)*logsig(z) + eps*logsig(-z)) / (1-2eps)
  ipo     (Azar et al. 2023, TRL loss_type='ipo', length-averaged h):   (beta*(hbar_w - hbar_l) - offset - 1/2)^2 / beta^2
          which with offset 0 is TRL's (hbar_w - hbar_l - 1/(2 beta))^2.
Every loss is the mean over the batch. Gradients w.r.t. the policy's chosen and rejected log-probs.
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32 at ~1e-5
B = 6


def lst(t):
    return t.detach().tolist()


def loss_of(variant, pc, pr, rc, rr, lc, lr, beta, eps, offset):
    if variant == "ipo":
        z = beta * ((pc - rc) / lc - (pr - rr) / lr) - offset
        return ((z - 0.5) ** 2 / beta ** 2).mean()
    z = beta * ((pc - rc) - (pr - rr)) - offset
    if variant == "sigmoid":
        return (-(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)).mean()
    if variant == "robust":
        return ((-(1 - eps) * F.logsigmoid(z) + eps * F.logsigmoid(-z)) / (1 - 2 * eps)).mean()
    raise ValueError(variant)


# sequence log-probs of 3-12 token responses (sums of token log-probs, so -1 to -30)
lc = torch.randint(3, 13, (B,)).double()
lr = torch.randint(3, 13, (B,)).double()
pc = (-lc * (1 + torch.rand(B))).requires_grad_()
pr = (-lr * (1 + torch.rand(B))).requires_grad_()
rc = pc.detach() + torch.randn(B) * 2
rr = pr.detach() + torch.randn(B) * 2
# SafeDPO: per-pair unsafe indicators of the (already reordered) chosen and rejected responses
u_w = torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0, 0.0])
u_l = torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0, 0.0])

out = {"policyChosen": lst(pc), "policyRejected": lst(pr), "refChosen": lst(rc), "refRejected": lst(rr),
       "chosenLengths": lst(lc), "rejectedLengths": lst(lr), "chosenUnsafe": lst(u_w), "rejectedUnsafe": lst(u_l),
       "cases": []}
for variant, beta, eps, delta in [("sigmoid", 0.1, 0.0, 0.0), ("sigmoid", 0.5, 0.2, 0.0), ("robust", 0.1, 0.2, 0.0),
                                  ("ipo", 0.1, 0.0, 0.0), ("ipo", 0.5, 0.0, 0.0), ("sigmoid", 0.1, 0.0, 2.0),
                                  ("robust", 0.3, 0.1, 1.5), ("ipo", 0.5, 0.0, 0.7)]:
    offset = (u_l - u_w) * delta
    loss = loss_of(variant, pc, pr, rc, rr, lc, lr, beta, eps, offset)
    gc, gr = torch.autograd.grad(loss, [pc, pr])
    h_w, h_l = (pc - rc).detach(), (pr - rr).detach()
    out["cases"].append({
        "variant": variant, "beta": beta, "labelSmoothing": eps, "delta": delta, "loss": loss.item(),
        "chosenReward": (beta * h_w).mean().item(), "rejectedReward": (beta * h_l).mean().item(),
        "margin": (beta * (h_w - h_l)).mean().item(), "accuracy": (h_w > h_l).double().mean().item(),
        "grads": [lst(gc), lst(gr)],
    })

# soft labels (MoCAN's pseudo-preferences): sigmoid with a per-pair eps_i = P(rejected is better)
pair_eps = torch.tensor([0.0, 0.1, 0.45, 0.3, 0.02, 0.5])
out["pairLabelSmoothing"] = lst(pair_eps)
for beta in [0.1, 0.5]:
    loss = loss_of("sigmoid", pc, pr, rc, rr, lc, lr, beta, pair_eps, torch.zeros(B))
    gc, gr = torch.autograd.grad(loss, [pc, pr])
    out.setdefault("softCases", []).append({"beta": beta, "loss": loss.item(), "grads": [lst(gc), lst(gr)]})

Path(__file__).parent.joinpath("golden", "dpo_losses.json").write_text(json.dumps(out))
print("wrote reference/golden/dpo_losses.json:", len(out["cases"]), "cases")
