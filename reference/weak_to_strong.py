"""Golden values and gradients for the weak-to-strong auxiliary confidence loss (src/losses/weak-to-strong.ts), Burns et al. 2023.

Run: /usr/bin/python3 reference/weak_to_strong.py  -> reference/golden/weak_to_strong.json
openai/weak-to-strong's logconf_loss_fn, applied to a pairwise reward model: the two-class logits of a pair are
[r_0 - r_1, 0] (class 0 = response 0 is better, softmax = sigmoid of the margin), the weak labels are
[p_weak, 1 - p_weak]. With the weight `coef` (alpha) given directly (the schedule is tested apart):
  threshold = torch.quantile(preds[:, 0], mean(labels[:, 1]))   (linear interpolation)
  strong = [preds[:, 0] >= threshold, preds[:, 0] < threshold]   (detached)
  target = labels * (1 - coef) + strong * coef
  loss = mean cross_entropy(logits, target)
Copied from the reference's formula, not from the TypeScript's sigmoid form. coef = 0 is plain soft-label cross-entropy.
"""
import json
from pathlib import Path

import torch

torch.manual_seed(2312)
torch.set_default_dtype(torch.float64)
B = 9


def lst(t):
    return t.detach().tolist()


def logconf(logits, labels, coef):
    preds = torch.softmax(logits, dim=-1)
    mean_weak = torch.mean(labels, dim=0)
    threshold = torch.quantile(preds[:, 0], mean_weak[1])
    strong = torch.cat([(preds[:, 0] >= threshold)[:, None], (preds[:, 0] < threshold)[:, None]], dim=1)
    target = labels * (1 - coef) + strong.detach() * coef
    loss = torch.nn.functional.cross_entropy(logits, target, reduction='none')
    return loss.mean(), threshold, strong[:, 0]


margins0 = torch.randn(B) * 2
weak0 = torch.sigmoid(torch.randn(B) * 2)  # soft weak labels P(response 0 better)
hard0 = (torch.rand(B) < 0.35).double()     # hard weak labels, a skewed prior

cases = []
for name, weak in (('soft', weak0), ('hard', hard0)):
    for coef in (0.0, 0.25, 0.75):
        m = margins0.clone().requires_grad_(True)
        logits = torch.stack([m, torch.zeros(B)], dim=1)
        labels = torch.stack([weak, 1 - weak], dim=1)
        loss, threshold, strong = logconf(logits, labels, coef)
        loss.backward()
        cases.append({'labels': name, 'weak': lst(weak), 'alpha': coef, 'loss': loss.item(), 'threshold': threshold.item(),
                      'strong': lst(strong.double()), 'dMargins': lst(m.grad)})

# the weight schedule of the paper: alpha ramps linearly from 0 to aux_coef over the first warmup_frac of training
schedule = [{'stepFrac': f, 'alpha': 0.75 * min(1.0, f / 0.2)} for f in (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)]

out = {'margins': lst(margins0), 'cases': cases, 'schedule': {'auxCoef': 0.75, 'warmupFrac': 0.2, 'points': schedule}}
path = Path(__file__).parent / 'golden' / 'weak_to_strong.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
