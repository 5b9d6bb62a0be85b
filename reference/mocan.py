"""Golden values and gradients for MoCAN's dual (src/losses/mocan.ts), Huang et al. 2024 (arXiv 2405.19544).

Run: /usr/bin/python3 reference/mocan.py  -> reference/golden/mocan.json
Problem: max_pi E[r] - beta*KL(pi || pi_ref)  s.t.  E[c] <= d  (Safe RLHF's constraint, c > 0 unsafe).
Its dual, for lambda >= 0, estimated from K samples y_1..y_K ~ pi_ref of each of P prompts:
  D(lambda) = mean_p beta * (logsumexp_k((r_pk - lambda*c_pk)/beta) - log K) + lambda*d
  dD/dlambda = d - mean_p sum_k w_pk c_pk,  w_p = softmax_k((r_pk - lambda*c_pk)/beta)
(the expected cost of the tilted policy pi_lambda ∝ pi_ref·exp((r - lambda c)/beta)). D is convex in lambda;
lambda* = argmin_{lambda >= 0} D. Here lambda* comes from Newton's method on autograd's first and second
derivatives (projected to lambda >= 0), independent of the TS solver's bisection on the closed-form gradient.
Gradients of D w.r.t. lambda, the rewards and the costs come from autograd.
"""
import json
import math
from pathlib import Path

import torch

torch.manual_seed(2405)
torch.set_default_dtype(torch.float64)
P, K = 5, 6


def lst(t):
    return t.detach().tolist()


def dual(r, c, lam, beta, d):
    return (beta * (torch.logsumexp((r - lam * c) / beta, dim=1) - math.log(K))).mean() + lam * d


def tilted_cost(r, c, lam, beta):
    w = torch.softmax((r - lam * c) / beta, dim=1)
    return (w * c).sum(1).mean()


def newton(r, c, beta, d, lam0=1.0, iters=200):
    lam = torch.tensor(lam0)
    for _ in range(iters):
        x = lam.clone().requires_grad_()
        (g,) = torch.autograd.grad(dual(r, c, x, beta, d), x, create_graph=True)
        (h,) = torch.autograd.grad(g, x)
        step = g.detach() / h.clamp_min(1e-12)
        lam = (lam - step).clamp_min(0.0)
        if abs(step.item()) < 1e-13:
            break
    return lam.item()


# scores on the scale of a trained reward / cost model: the safer answers help a little less
r = torch.randn(P, K) * 1.5 + 1.0
c = torch.randn(P, K) * 2.0 + 0.5 * r
out = {"rewards": lst(r), "costs": lst(c), "cases": [], "optima": []}
for beta, d, lam in [(1.0, 0.0, 0.0), (1.0, 0.0, 0.7), (0.5, -0.5, 2.0), (0.1, 0.3, 0.25), (2.0, 1.0, 5.0)]:
    rr = r.clone().requires_grad_()
    cc = c.clone().requires_grad_()
    x = torch.tensor(lam, requires_grad=True)
    D = dual(rr, cc, x, beta, d)
    g_lam, g_r, g_c = torch.autograd.grad(D, [x, rr, cc])
    out["cases"].append({"beta": beta, "threshold": d, "lambda": lam, "dual": D.item(), "dLambda": g_lam.item(),
                         "dRewards": lst(g_r), "dCosts": lst(g_c), "tiltedCost": tilted_cost(r, c, lam, beta).item()})

# the minimiser: an active constraint at several beta and d, and an inactive one (lambda* = 0: d above pi_ref's tilted cost)
for beta, d in [(1.0, 0.0), (0.5, -0.5), (2.0, 0.2), (1.0, 10.0)]:
    lam = newton(r, c, beta, d)
    out["optima"].append({"beta": beta, "threshold": d, "lambda": lam, "dual": dual(r, c, torch.tensor(lam), beta, d).item(),
                          "tiltedCost": tilted_cost(r, c, lam, beta).item()})

Path(__file__).parent.joinpath("golden", "mocan.json").write_text(json.dumps(out))
print("wrote reference/golden/mocan.json:", len(out["cases"]), "cases,", [round(o["lambda"], 4) for o in out["optima"]], "optima")
