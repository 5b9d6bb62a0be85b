"""PyTorch reference for bench/engine: the same GPT-2-style model and work as bench/engine/run.ts.

Usage: /usr/bin/python3 bench/engine/torch_ref.py --threads 2
Serves timing requests on stdin, one per line: "<train|fwd|gen> N" runs one untimed warm-up
iteration and N timed ones, then prints {"wall": [...], "cpu": [...]}: the N durations in seconds and the
process CPU seconds (every thread's) of each; "quit" ends.
bench/engine/run.ts alternates such blocks with its own, so both engines see the same machine.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
V, T, D, L, H, B = 2048, 64, 256, 4, 4, 16


def P(*shape, std=0.02):
    return (torch.randn(*shape) * std).requires_grad_()


params = {"wte": P(V, D), "wpe": P(T, D), "lnf_w": torch.ones(D, requires_grad=True), "lnf_b": torch.zeros(D, requires_grad=True), "head": P(V, D)}
blocks = []
for _ in range(L):
    blocks.append({"ln1_w": torch.ones(D, requires_grad=True), "ln1_b": torch.zeros(D, requires_grad=True),
                   "attn_w": P(D, 3 * D), "attn_b": torch.zeros(3 * D, requires_grad=True),
                   "proj_w": P(D, D), "proj_b": torch.zeros(D, requires_grad=True),
                   "ln2_w": torch.ones(D, requires_grad=True), "ln2_b": torch.zeros(D, requires_grad=True),
                   "fc_w": P(D, 4 * D), "fc_b": torch.zeros(4 * D, requires_grad=True),
                   "mp_w": P(4 * D, D), "mp_b": torch.zeros(D, requires_grad=True)})
all_params = list(params.values()) + [p for b in blocks for p in b.values()]


def forward(ids, mask, cache=None):
    b, l = ids.shape
    lk = mask.shape[1]
    past = lk - l
    pos = ((mask.cumsum(-1) - 1).masked_fill(mask == 0, 0))[:, past:]
    x = params["wte"][ids] + params["wpe"][pos]
    causal = torch.arange(lk)[None, :] <= (torch.arange(l)[:, None] + past)
    bias = (~(causal[None, None] & (mask[:, None, None, :] > 0))).float() * -1e9
    new_cache = []
    for i, p in enumerate(blocks):
        h = F.layer_norm(x, (D,), p["ln1_w"], p["ln1_b"])
        qkv = h @ p["attn_w"] + p["attn_b"]
        q, k, v = (t.view(b, l, H, D // H).transpose(1, 2) for t in qkv.split(D, 2))
        if cache is not None:
            k = torch.cat([cache[i][0], k], 2)
            v = torch.cat([cache[i][1], v], 2)
        new_cache.append((k, v))
        s = q @ k.transpose(2, 3) * (1 / math.sqrt(D // H)) + bias
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, l, D)
        x = x + a @ p["proj_w"] + p["proj_b"]
        h = F.layer_norm(x, (D,), p["ln2_w"], p["ln2_b"])
        x = x + F.gelu(h @ p["fc_w"] + p["fc_b"], approximate="tanh") @ p["mp_w"] + p["mp_b"]
    x = F.layer_norm(x, (D,), params["lnf_w"], params["lnf_b"])
    return F.linear(x, params["head"]), new_cache


opt = torch.optim.AdamW(all_params, lr=3e-4)
ids = torch.randint(0, V, (B, T))
mask = torch.ones(B, T, dtype=torch.long)


def train_step():
    opt.zero_grad()
    logits, _ = forward(ids, mask)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    opt.step()


def fwd():
    with torch.no_grad():
        forward(ids, mask)


prompts = torch.randint(0, V, (16, 16))
pmask = torch.ones(16, 16, dtype=torch.long)


@torch.no_grad()
def gen():
    """What safealign's generate() computes: greedy tokens, each chosen token's log-probability
    (for PPO), and the running/response masks (no stop tokens here, so all stay running)."""
    logits, cache = forward(prompts, pmask)
    m = pmask
    last = logits[:, -1]
    running = torch.ones(16, dtype=torch.bool)
    toks, logps, alive = [], [], []
    for t in range(32):
        logp = last.log_softmax(1)
        tok = torch.where(running[:, None], last.argmax(1, keepdim=True), 0)
        logps.append(logp.gather(1, tok) * running[:, None].float())
        alive.append(running[:, None].long())
        toks.append(tok)
        running = running & ~(~running)
        if not running.any().item() or t == 31:
            break
        m = torch.cat([m, alive[-1]], 1)
        logits, cache = forward(tok, m, cache)
        last = logits[:, 0]
    response_mask = torch.cat(alive, 1)
    return torch.cat([prompts, torch.cat(toks, 1)], 1), torch.cat([pmask, response_mask], 1), torch.cat(logps, 1)


WORK = {"train": train_step, "fwd": fwd, "gen": gen}
for line in sys.stdin:
    parts = line.split()
    if not parts or parts[0] == "quit":
        break
    fn, n = WORK[parts[0]], int(parts[1])
    fn()  # warm-up
    secs, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        secs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({"wall": secs, "cpu": cpu}), flush=True)
