"""Golden values of the server's per-row sampling (src/serve/sampling.ts).

Run: /usr/bin/python3 reference/serve_sampling.py  -> reference/golden/serve_sampling.json
Each row has its own temperature and top-p: probs = softmax(nucleus_p(logits / T)) where the nucleus filter
sorts descending and drops a token once the mass before it reaches p (the top token always kept; p = 1 keeps all).
Inverse-CDF sampling: the token is the first whose cumulative probability reaches the row's uniform u.
Temperature 0 is greedy (argmax of the raw logits).
"""
import json
from pathlib import Path

import torch

torch.manual_seed(0)
B, V = 6, 11
logits = 2 * torch.randn(B, V)
temperature = [1.0, 0.7, 1.5, 0.0, 1.0, 0.4]
top_p = [1.0, 0.9, 0.5, 1.0, 0.3, 0.95]
uniforms = [0.05, 0.5, 0.93, 0.6, 0.999, 0.31]


def distribution(row, t, p):
    x = row / (t if t > 0 else 1.0)
    if p < 1:
        values, indices = torch.sort(x, descending=True)
        probs = torch.softmax(values, 0)
        drop = (torch.cumsum(probs, 0) - probs) >= p
        values = values.masked_fill(drop, float('-inf'))
        x = torch.empty_like(x).scatter(0, indices, values)
    return torch.softmax(x, 0)


probs = torch.stack([distribution(logits[i], temperature[i], top_p[i]) for i in range(B)])
tokens = []
for i in range(B):
    if temperature[i] == 0:
        tokens.append(int(torch.argmax(logits[i])))
    else:
        cum = torch.cumsum(probs[i], 0)
        tokens.append(min(int((cum < uniforms[i]).sum()), V - 1))

out = {"logits": logits.tolist(), "temperature": temperature, "topP": top_p, "uniforms": uniforms, "probs": probs.tolist(), "tokens": tokens}
Path(__file__).parent.joinpath('golden', 'serve_sampling.json').write_text(json.dumps(out, indent=1) + '\n')
print('tokens', tokens)
