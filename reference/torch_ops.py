"""Golden values and gradients for the tensor engine (test/torch/ops.test.ts).

Run: /usr/bin/python3 reference/torch_ops.py -> reference/golden/torch_ops.json
Each case: float64-generated inputs stored as float32 values, the op's output, and the gradient of
sum(out * w) (w fixed random weights) w.r.t. every float input. The TS test applies the same op
by case name.
"""
import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []


def f32(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def add(name, fn, inputs, grad=True):
    ins = [x.clone().requires_grad_(grad and x.is_floating_point()) for x in inputs]
    out = fn(*ins)
    rec = {"name": name, "inputs": [{"dtype": str(x.dtype).replace("torch.", ""), "shape": list(x.shape), "data": x.detach().flatten().tolist()} for x in inputs]}
    outs = out if isinstance(out, tuple) else (out,)
    rec["outputs"] = [{"dtype": str(o.dtype).replace("torch.", ""), "shape": list(o.shape), "data": o.detach().double().flatten().tolist()} for o in outs]
    if grad and outs[0].is_floating_point() and any(x.requires_grad for x in ins):
        w = torch.randn(outs[0].shape, generator=torch.Generator().manual_seed(len(cases)))
        loss = (outs[0] * w).sum()
        gs = torch.autograd.grad(loss, [x for x in ins if x.requires_grad], allow_unused=True)
        rec["weights"] = w.flatten().tolist()
        rec["grads"] = [None if g is None else g.flatten().tolist() for g in gs]
    cases.append(rec)


# broadcasting arithmetic
add("add", lambda a, b: a + b, [f32(2, 3), f32(3)])
add("add_alpha", lambda a, b: torch.add(a, b, alpha=2.5), [f32(2, 3), f32(2, 1)])
add("sub", lambda a, b: a - b, [f32(4, 1), f32(1, 5)])
add("mul", lambda a, b: a * b, [f32(2, 3, 4), f32(4)])
add("div", lambda a, b: a / b, [f32(3, 2), f32(3, 2).abs() + 0.5])
add("pow_scalar", lambda a: a.abs().add(0.1).pow(1.7), [f32(5)])
add("maximum", lambda a, b: torch.maximum(a, b), [f32(6), f32(6)])
add("minimum", lambda a, b: torch.minimum(a, b), [f32(6), f32(6)])
add("matmul", lambda a, b: a @ b, [f32(2, 3, 4), f32(4, 5)])
add("bmm", lambda a, b: torch.bmm(a, b), [f32(2, 3, 4), f32(2, 4, 2)])
# elementwise
for n, fn in [("exp", torch.exp), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("relu", torch.relu),
              ("silu", F.silu), ("logsigmoid", F.logsigmoid), ("abs", torch.abs), ("sin", torch.sin), ("cos", torch.cos),
              ("neg", torch.neg)]:
    add(n, fn, [f32(3, 4)])
add("gelu", lambda a: F.gelu(a), [f32(3, 4)])
add("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), [f32(3, 4)])
add("log", lambda a: torch.log(a.abs() + 0.1), [f32(7)])
add("sqrt", lambda a: torch.sqrt(a.abs() + 0.1), [f32(7)])
add("rsqrt", lambda a: torch.rsqrt(a.abs() + 0.1), [f32(7)])
add("softmax", lambda a: torch.softmax(a, -1), [f32(3, 5)])
add("log_softmax", lambda a: torch.log_softmax(a, 1), [f32(3, 5)])
add("clamp", lambda a: a.clamp(-0.5, 0.7), [f32(10)])
add("clamp_min", lambda a: a.clamp(min=0.1), [f32(10)])
# reductions
add("sum_all", lambda a: a.sum(), [f32(3, 4)])
add("sum_dim", lambda a: a.sum(1, keepdim=True), [f32(3, 4)])
add("sum_dims", lambda a: a.sum((0, 2)), [f32(2, 3, 4)])
add("mean_dim", lambda a: a.mean(-1), [f32(3, 4)])
add("max_dim", lambda a: a.amax(1), [f32(3, 4)])
add("min_dim", lambda a: a.amin(0, keepdim=True), [f32(3, 4)])
add("argmax", lambda a: a.argmax(1), [f32(3, 4)], grad=False)
add("logsumexp", lambda a: torch.logsumexp(a, 1), [f32(3, 4)])
add("cumsum", lambda a: torch.cumsum(a, 1), [f32(3, 4)])
add("std", lambda a: a.std(1), [f32(3, 4)])
add("var_biased", lambda a: a.var(1, unbiased=False, keepdim=True), [f32(3, 4)])
add("std_all", lambda a: a.std(), [f32(3, 4)])
# shapes and indexing
add("permute_reshape", lambda a: a.permute(2, 0, 1).reshape(4, 6), [f32(2, 3, 4)])
add("transpose_contig", lambda a: a.transpose(0, 1).contiguous(), [f32(2, 3)])
add("narrow", lambda a: a.narrow(1, 1, 2), [f32(3, 4)])
add("select", lambda a: a.select(0, 1), [f32(3, 4)])
add("slice_step", lambda a: a[:, 0:4:2], [f32(3, 5)])
add("unsqueeze_expand", lambda a: a.unsqueeze(1).expand(3, 2, 4), [f32(3, 4)])
idx = torch.tensor([2, 0, 2])
add("index_select", lambda a, i: a.index_select(0, i), [f32(3, 4), idx])
gidx = torch.tensor([[0, 2], [1, 1], [3, 0]])
add("gather", lambda a, i: a.gather(1, i), [f32(3, 4), gidx])
sidx = torch.tensor([[0, 2], [1, 3], [3, 0]])
add("scatter", lambda a, i, s: a.scatter(1, i, s), [f32(3, 4), sidx, f32(3, 2)])
add("cat", lambda a, b: torch.cat([a, b], 1), [f32(2, 3), f32(2, 2)])
add("stack", lambda a, b: torch.stack([a, b], 0), [f32(2, 3), f32(2, 3)])
cond = torch.tensor([[True, False, True], [False, False, True]])
add("where", lambda c, a, b: torch.where(c, a, b), [cond, f32(2, 3), f32(2, 3)])
add("masked_fill", lambda a, m: a.masked_fill(m, -2.0), [f32(2, 3), cond])
add("triu", lambda a: a.triu(1), [f32(4, 4)])
add("tril", lambda a: a.tril(), [f32(4, 4)])
add("topk", lambda a: torch.topk(a, 2, 1), [f32(3, 5)])
add("sort_desc", lambda a: torch.sort(a, 1, descending=True), [f32(3, 5)])
add("repeat", lambda a: a.repeat(2, 1), [f32(2, 3)])
# comparisons
add("lt_scalar", lambda a: a < 0.1, [f32(6)], grad=False)
add("eq_tensor", lambda a, b: a.round() == b.round(), [f32(6), f32(6)], grad=False)
# nn
add("linear", lambda x, w, b: F.linear(x, w, b), [f32(2, 3, 4), f32(5, 4), f32(5)])
add("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b, 1e-5), [f32(2, 3, 4), f32(4), f32(4)])
add("embedding", lambda w, i: F.embedding(i, w), [f32(6, 3), torch.tensor([[1, 5], [0, 1]])])
tgt = torch.tensor([1, 4, -100, 2])
add("cross_entropy", lambda x, t: F.cross_entropy(x, t, ignore_index=-100), [f32(4, 5), tgt])
add("cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none", ignore_index=-100), [f32(4, 5), tgt])
add("cross_entropy_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"), [f32(4, 5), torch.tensor([0, 1, 2, 3])])

# a small MLP and a causal self-attention block (gradients w.r.t. every weight)
def mlp(x, w1, b1, w2, b2):
    return F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)

add("mlp", mlp, [f32(4, 6), f32(8, 6) * 0.3, f32(8), f32(3, 8) * 0.3, f32(3)])

def causal_attention(x, wq, wk, wv, wo):
    B, L, D = x.shape
    H = 2
    hd = D // H
    q = (x @ wq).view(B, L, H, hd).transpose(1, 2)
    k = (x @ wk).view(B, L, H, hd).transpose(1, 2)
    v = (x @ wv).view(B, L, H, hd).transpose(1, 2)
    s = q @ k.transpose(2, 3) / math.sqrt(hd)
    mask = torch.ones(L, L).triu(1).bool()
    s = s.masked_fill(mask, -1e9)
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, L, D)
    return o @ wo

add("causal_attention", causal_attention, [f32(2, 5, 8), f32(8, 8) * 0.3, f32(8, 8) * 0.3, f32(8, 8) * 0.3, f32(8, 8) * 0.3])

# optimisers: 3 steps on a quadratic, parameters after each step
def optim_trace(make):
    p = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = make([p])
    trace = []
    for i in range(3):
        opt.zero_grad()
        loss = ((p - torch.tensor([0.3, 0.1, -0.2])) ** 2 * torch.tensor([1.0, 2.0, 3.0])).sum() + 0.1 * i * p.sum()
        loss.backward()
        opt.step()
        trace.append(p.detach().tolist())
    return trace

optim = {
    "adamw": optim_trace(lambda ps: torch.optim.AdamW(ps, lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05)),
    "sgd": optim_trace(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)),
}

# clip_grad_norm_
p1 = torch.tensor([3.0, 4.0], requires_grad=True)
p2 = torch.tensor([[12.0]], requires_grad=True)
(p1.sum() * 0 + (p1 * torch.tensor([3.0, 4.0])).sum() + (p2 * 12).sum()).backward()
total = torch.nn.utils.clip_grad_norm_([p1, p2], 6.5)
clip = {"total": float(total), "grads": [p1.grad.tolist(), p2.grad.flatten().tolist()]}

# LambdaLR schedules (warm-up 3, total 10)
def lambda_trace(fn):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, fn)
    out = []
    for _ in range(10):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    return out

W, T = 3, 10
schedules = {
    "constant": lambda_trace(lambda s: (s + 1) / W if s < W else 1.0),
    "linear": lambda_trace(lambda s: (s + 1) / W if s < W else 1 - min(1, (s - W) / (T - W))),
    "cosine": lambda_trace(lambda s: (s + 1) / W if s < W else 0.5 * (1 + math.cos(math.pi * min(1, (s - W) / (T - W))))),
}

Path(__file__).parent.joinpath("golden", "torch_ops.json").write_text(json.dumps({"cases": cases, "optim": optim, "clip": clip, "schedules": schedules}))
print(f"wrote {len(cases)} op cases")
