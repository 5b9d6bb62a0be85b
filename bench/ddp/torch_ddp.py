"""PyTorch reference for bench/ddp: the DESIGN.md §1 GPT (as bench/engine/torch_ref.py) trained with AdamW, under
torch.nn.parallel.DistributedDataParallel (Gloo) when WORLD_SIZE > 1, each rank on its share of the global batch of 16.

Usage: RANK=.. WORLD_SIZE=.. MASTER_ADDR=.. MASTER_PORT=.. /usr/bin/python3 bench/ddp/torch_ddp.py STEPS THREADS
(bench/ddp/run.ts starts it). Rank 0 prints {"engine": "torch", "worldSize": W, "ms": [per-step times]}.
"""
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

steps, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
V, T, D, L, H, B = 2048, 64, 256, 4, 4, 16
world = int(os.environ.get("WORLD_SIZE", "1"))
rank = int(os.environ.get("RANK", "0"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.mp = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x, bias):
        b, l, _ = x.shape
        q, k, v = (t.view(b, l, H, D // H).transpose(1, 2) for t in self.attn(self.ln1(x)).split(D, 2))
        a = ((q @ k.transpose(2, 3) * (1 / math.sqrt(D // H)) + bias).softmax(-1) @ v).transpose(1, 2).reshape(b, l, D)
        x = x + self.proj(a)
        return x + self.mp(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(T, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.lnf, self.head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)

    def forward(self, ids):
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        bias = (~causal).float()[None, None] * -1e9
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for blk in self.blocks:
            x = blk(x, bias)
        return self.head(self.lnf(x))


model = GPT()
if world > 1:
    dist.init_process_group("gloo", init_method="env://")
    model = nn.parallel.DistributedDataParallel(model)
opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
ids = torch.randint(0, V, (B, T))
share = ids[rank * B // world:(rank + 1) * B // world]
ms = []
for step in range(steps + 1):
    t0 = time.perf_counter()
    opt.zero_grad()
    logits = model(share)
    F.cross_entropy(logits[:, :-1].reshape(-1, V), share[:, 1:].reshape(-1)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step > 0:
        ms.append((time.perf_counter() - t0) * 1000)
if rank == 0:
    print(json.dumps({"engine": "torch", "worldSize": world, "ms": ms}), flush=True)
if world > 1:
    dist.destroy_process_group()
