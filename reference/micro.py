"""Golden values and gradients for MiCRo's mixture Bradley-Terry loss (src/losses/micro.ts), Shen et al. 2025 (arXiv 2505.24846).

Run: /usr/bin/python3 reference/micro.py  -> reference/golden/micro.json
K reward heads score the preferred (w) and the other (l) response of B pairs; a router gives mixture weights
w(x) = softmax(g(x)) per pair. Written directly from the likelihood, as a product of probabilities:
  P(y_w > y_l | x) = sum_k w_k(x) * sigmoid(r_k(x, y_w) - r_k(x, y_l))
  loss = -mean_b log P_b + reg * (mean(r_w^2) + mean(r_l^2))        (reg: the reward model's L2 on scores)
Per-head log-losses l_k = -log sigmoid(r_k(w) - r_k(l)) and the Hedge posterior of the routing stage,
  w_post(x, a) = softmax(log w(x) - eta * sum_{pairs of a} l_k),
are written too (the online routing of annotator a's few labelled pairs), and the annotator-level latent-class
likelihood of one annotator's B labels, P = sum_k pi_k prod_b sigmoid(r_k(w_b) - r_k(l_b)) with
pi = softmax(mean_b g(x_b)), loss = -log P / B + reg * (...).
Gradients of sum(loss) in the scores and the router logits come from autograd.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(2505)
torch.set_default_dtype(torch.float64)
B, K = 7, 3


def lst(t):
    return t.detach().tolist()


better0 = torch.randn(B, K) * 1.5
worse0 = torch.randn(B, K) * 1.5
router0 = torch.randn(B, K)

cases = []
for reg in (0.0, 0.01):
    bw = better0.clone().requires_grad_(True)
    wl = worse0.clone().requires_grad_(True)
    g = router0.clone().requires_grad_(True)
    weights = torch.softmax(g, dim=1)
    prob = (weights * torch.sigmoid(bw - wl)).sum(1)
    loss = -torch.log(prob).mean() + reg * ((bw ** 2).mean() + (wl ** 2).mean())
    loss.backward()
    cases.append({
        'reg': reg,
        'loss': loss.item(),
        'prob': lst(prob),
        'accuracy': (prob > 0.5).double().mean().item(),
        'dBetter': lst(bw.grad),
        'dWorse': lst(wl.grad),
        'dRouter': lst(g.grad),
    })

# one head: the mixture is the plain Bradley-Terry loss
single = -torch.nn.functional.logsigmoid(better0[:, :1] - worse0[:, :1]).mean().item()

# Hedge routing: 4 labelled pairs of one annotator (the first rows), prior = the router's weights on row 0
eta = 0.7
head_losses = -torch.nn.functional.logsigmoid(better0[:4] - worse0[:4])  # (4, K)
prior = torch.softmax(router0[0], dim=0)
posterior = torch.softmax(torch.log(prior) - eta * head_losses.sum(0), dim=0)

# annotator-level latent class: the B pairs are one annotator's labels, all from one of the K heads:
#   P(labels) = sum_k pi_k prod_b sigmoid(r_k(w_b) - r_k(l_b)),  log pi = log_softmax(mean_b g(x_b))
#   loss = -log P(labels) / B + reg * (mean(r_w^2) + mean(r_l^2))
grouped = []
for reg in (0.0, 0.01):
    bw = better0.clone().requires_grad_(True)
    wl = worse0.clone().requires_grad_(True)
    g = router0.clone().requires_grad_(True)
    pi = torch.softmax(g.mean(0), dim=0)
    prob = (pi * torch.sigmoid(bw - wl).prod(0)).sum()
    loss = -torch.log(prob) / B + reg * ((bw ** 2).mean() + (wl ** 2).mean())
    loss.backward()
    grouped.append({'reg': reg, 'loss': loss.item(), 'dBetter': lst(bw.grad), 'dWorse': lst(wl.grad), 'dRouter': lst(g.grad)})

out = {
    'grouped': grouped,
    'better': lst(better0), 'worse': lst(worse0), 'router': lst(router0),
    'cases': cases, 'singleHeadLoss': single,
    'hedge': {'eta': eta, 'pairs': 4, 'headLosses': lst(head_losses), 'prior': lst(prior), 'posterior': lst(posterior)},
}
path = Path(__file__).parent / 'golden' / 'micro.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
