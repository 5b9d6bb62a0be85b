"""Golden value and gradients of the cost model's classification term on per-response safety labels.

Run: /usr/bin/python3 reference/cost_labels.py  -> reference/golden/cost_labels.json
This is the sign term of PKU-Alignment/safe-rlhf's cost loss on its own (a cost model from safety labels,
with no pairs): loss = -mean(logsigmoid(s * c)) + reg * mean(c^2), with the cost sign s = +1 for an
unsafe response and -1 for a safe one. signAccuracy is the share of responses with sign(c) == s.
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32 at ~1e-5
B = 6

costs = (2 * torch.randn(B)).requires_grad_(True)
is_safe = torch.tensor([True, False, True, True, False, False])
sign = torch.where(is_safe, -1.0, 1.0)
reg = 0.01
loss = -F.logsigmoid(sign * costs).mean() + reg * costs.square().mean()
(grad,) = torch.autograd.grad(loss, [costs])
out = {
    "costs": costs.detach().tolist(),
    "isSafe": is_safe.tolist(),
    "reg": reg,
    "loss": loss.item(),
    "signAccuracy": (torch.sign(costs) == sign).double().mean().item(),
    "grad": grad.tolist(),
}
path = Path(__file__).parent / "golden" / "cost_labels.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
