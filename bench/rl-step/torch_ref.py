"""PyTorch reference for bench/rl-step: one PPO-Lagrangian step of the same models and work as bench/rl-step/run.ts.

Usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/rl-step/torch_ref.py --work FILE --mode full|lora --steps N --threads 2
(run.ts writes FILE (bench/rl-step/work.ts) and starts this so; with OpenMP's default active wait its idle threads spin on the
cores the busy ones need). Runs one untimed warm-up step and N timed ones, then prints one JSON line: {"times": [s, ...],
"phases": {"generation": [s, ...], "scoring": [...], "update": [...]}, "cpuPhases": the same in process CPU seconds
(all threads), "maxRssMB": peak RSS,
"baseRssMB": RSS with torch imported and no model built}. One process per (size, mode), so the peak RSS is that configuration's alone.

The step, as safealign's trainRl runs it (src/algorithms/rl/step.ts) with rl defaults and the work file's batch settings:
  rollout: the actor (eval mode, no gradient) samples up to newTokens tokens for the left-padded prompts (temperature 1,
  KV cache, the prompt pass's LM head on its last position only, as HF's generate does with logits_to_keep), keeping each
  token's log-probability. With a stop schedule (the default size), a logits processor forces EOS at row r's stops[r]-th
  token and bans it before, exactly as run.ts does; a finished row stays in the batch, fed its pad token with the
  attention mask extended by one (as HF's generate loop does), and the loop ends when every row has finished.
  Scoring (no gradient) on the whole padded batch: reference log-probs of the response tokens (LM head on the
  response positions only), reward and cost scores at each row's last real token, reward- and cost-critic values;
  per-token KL shaping (beta klCoef) of both streams; GAE (gamma 1, lambda 0.95) per stream; one Lagrange step on
  log lambda; actor advantage (A_r - lambda A_c)/(1 + lambda), whitened over the response tokens; then for each
  mini-batch of miniBatch rows (in order, padded to the batch's width): the actor's PPO clipped loss (token mean),
  backward, grad-norm clip 1, AdamW (lr 2e-4); each critic's clipped value loss, backward, clip, AdamW (lr 1e-3).
Data-parallel (bench/ddp, WORLD_SIZE > 1, full mode only): torch.distributed over Gloo (env:// from RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT); each rank samples and scores its consecutive share of the prompts; the cost window gathers every
rank's costs and the advantage whitening reduces its sums over the ranks, so λ and the whitening are the whole batch's;
each mini-batch of miniBatch rows is miniBatch / WORLD_SIZE rows of each rank's share; the actor and both critics are
wrapped in torch.nn.parallel.DistributedDataParallel (gradients averaged over the ranks in buckets, overlapped with the
backward pass). Rank 0 alone prints.
Models: GPT-2 (tied LM head, Conv1D weights (in, out), positions from the attention mask's cumsum as HF's for left
padding); score models = backbone + linear head. LoRA mode (peft's defaults for GPT-2, as safealign's): r 8, alpha 16,
dropout 0.05 on c_attn of the actor and both critics (critic heads train in full), base weights frozen; the optimisers
hold only the trainable tensors.
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True)
ap.add_argument("--mode", choices=["full", "lora"], default="full")
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
BASE_RSS_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the runtime alone, before any model

with open(args.work) as f:
    W = json.load(f)
M = W["model"]
D, NL, H, CTX, V = M["n_embd"], M["n_layer"], M["n_head"], M["n_positions"], M["vocab_size"]
NEW, MB, EPOCHS, KL = W["newTokens"], W["miniBatch"], W["ppoEpochs"], W["klCoef"]
EOS, PAD = W["eosId"], W["padId"]
WORLD, RANK = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
if WORLD > 1:
    assert args.mode == "full" and len(W["prompts"]) % WORLD == 0 and MB % WORLD == 0, "data-parallel: full mode, batch and mini-batch divisible by WORLD_SIZE"
    dist.init_process_group("gloo", init_method="env://")
    MB //= WORLD
B = len(W["prompts"]) // WORLD  # this rank's rows
ROWS = slice(RANK * B, (RANK + 1) * B)
PROMPT = max(len(p) for p in W["prompts"])
prompts = torch.tensor([[PAD] * (PROMPT - len(p)) + p for p in W["prompts"][ROWS]])
prompt_mask = torch.tensor([[0] * (PROMPT - len(p)) + [1] * len(p) for p in W["prompts"][ROWS]])
STOPS = torch.tensor(W["stops"][ROWS]) if W["stops"] is not None else None
IS_EOS = torch.arange(V) == EOS
R, ALPHA, DROP = 8, 16.0, 0.05
LORA = args.mode == "lora"


def P(*shape, std=0.02):
    return torch.randn(*shape) * std


def gpt2_params():
    p = {"wte": P(V, D), "wpe": P(CTX, D, std=0.01), "lnf_w": torch.ones(D), "lnf_b": torch.zeros(D)}
    proj_std = 0.02 / math.sqrt(2 * NL)
    for i in range(NL):
        p.update({f"{i}.ln1_w": torch.ones(D), f"{i}.ln1_b": torch.zeros(D), f"{i}.attn_w": P(D, 3 * D), f"{i}.attn_b": torch.zeros(3 * D),
                  f"{i}.proj_w": P(D, D, std=proj_std), f"{i}.proj_b": torch.zeros(D), f"{i}.ln2_w": torch.ones(D), f"{i}.ln2_b": torch.zeros(D),
                  f"{i}.fc_w": P(D, 4 * D), f"{i}.fc_b": torch.zeros(4 * D), f"{i}.mp_w": P(4 * D, D, std=proj_std), f"{i}.mp_b": torch.zeros(D)})
    return p


def clone(p):
    return {k: v.clone() for k, v in p.items()}


def add_lora(p):
    """Freezes p and adds peft-initialised adapters to every c_attn; returns the trainable tensors."""
    for v in p.values():
        v.requires_grad_(False)
    new = []
    for i in range(NL):
        bound = 1 / math.sqrt(D)
        p[f"{i}.lora_A"] = (torch.rand(R, D) * 2 * bound - bound).requires_grad_()
        p[f"{i}.lora_B"] = torch.zeros(3 * D, R, requires_grad=True)
        new += [p[f"{i}.lora_A"], p[f"{i}.lora_B"]]
    return new


def backbone(p, ids, mask, cache=None, training=False):
    """Hidden states (b, l, D) after ln_f, and the new KV cache. mask: (b, past + l)."""
    b, l = ids.shape
    lk = mask.shape[1]
    past = lk - l
    pos = ((mask.cumsum(-1) - 1).masked_fill(mask == 0, 0))[:, past:]
    x = p["wte"][ids] + p["wpe"][pos]
    causal = torch.arange(lk)[None, :] <= (torch.arange(l)[:, None] + past)
    bias = (~(causal[None, None] & (mask[:, None, None, :] > 0))).float() * -1e9
    new_cache = []
    for i in range(NL):
        h = F.layer_norm(x, (D,), p[f"{i}.ln1_w"], p[f"{i}.ln1_b"])
        qkv = h @ p[f"{i}.attn_w"] + p[f"{i}.attn_b"]
        if f"{i}.lora_A" in p:
            qkv = qkv + (ALPHA / R) * F.linear(F.linear(F.dropout(h, DROP, training), p[f"{i}.lora_A"]), p[f"{i}.lora_B"])
        q, k, v = (t.view(b, l, H, D // H).transpose(1, 2) for t in qkv.split(D, 2))
        if cache is not None:
            k = torch.cat([cache[i][0], k], 2)
            v = torch.cat([cache[i][1], v], 2)
        new_cache.append((k, v))
        s = q @ k.transpose(2, 3) * (1 / math.sqrt(D // H)) + bias
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, l, D)
        x = x + a @ p[f"{i}.proj_w"] + p[f"{i}.proj_b"]
        h = F.layer_norm(x, (D,), p[f"{i}.ln2_w"], p[f"{i}.ln2_b"])
        x = x + F.gelu(h @ p[f"{i}.fc_w"] + p[f"{i}.fc_b"], approximate="tanh") @ p[f"{i}.mp_w"] + p[f"{i}.mp_b"]
    return F.layer_norm(x, (D,), p["lnf_w"], p["lnf_b"]), new_cache


def response_log_probs(p, seq, mask, T, training=False):
    """(b, T) log-probabilities of the T response tokens; the LM head runs on the positions predicting them only."""
    h, _ = backbone(p, seq, mask, training=training)
    lp = F.linear(h[:, PROMPT - 1:PROMPT - 1 + T], p["wte"]).log_softmax(-1)
    return lp.gather(2, seq[:, PROMPT:, None])[..., 0]


def scores(p, seq, mask, training=False):
    """(b, PROMPT + T) per-token scores of a score model."""
    h, _ = backbone(p, seq, mask, training=training)
    return (h @ p["head_w"].T)[..., 0] + p["head_b"]


def score_model(base):
    p = clone(base)
    p["head_w"] = torch.randn(1, D) / math.sqrt(D)
    p["head_b"] = torch.zeros(1)
    return p


actor = gpt2_params()
reference = clone(actor)
reward = score_model(actor)
cost = score_model(actor)
critics = {"reward": clone(reward), "cost": clone(cost)}
if LORA:
    actor_params = add_lora(actor)
    critic_params = {}
    for s, c in critics.items():
        critic_params[s] = add_lora(c)
        for k in ("head_w", "head_b"):
            c[k].requires_grad_(True)
            critic_params[s].append(c[k])
else:
    for p in [actor, *critics.values()]:
        for k in p:
            p[k] = torch.nn.Parameter(p[k])
    actor_params = list(actor.values())
    critic_params = {s: list(c.values()) for s, c in critics.items()}


class Functional(torch.nn.Module):
    """A dict of parameters as a module, so that DistributedDataParallel hooks their gradients: forward(f, ...) = f(p, ...)."""

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.params = torch.nn.ParameterList(list(p.values()))

    def forward(self, f, *a, **k):
        return f(self.p, *a, **k)


def trained(p):
    """How the update calls a trained model: through DDP with several processes, else directly."""
    if WORLD == 1:
        return lambda f, *a, **k: f(p, *a, **k)
    return torch.nn.parallel.DistributedDataParallel(Functional(p))


train_actor = trained(actor)
train_critics = {s: trained(c) for s, c in critics.items()}
actor_opt = torch.optim.AdamW(actor_params, lr=2e-4, weight_decay=0)
critic_opts = {s: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0) for s, ps in critic_params.items()}
log_lambda = 0.0
costs_window = []


@torch.no_grad()
def rollout():
    """sequences (B, PROMPT + T), attention mask (B, PROMPT + T), response mask (B, T) float, log-probs (B, T)."""
    mask = prompt_mask
    h, cache = backbone(actor, prompts, mask)
    last = F.linear(h[:, -1], actor["wte"])
    running = torch.ones(B, dtype=torch.bool)
    toks, logps, alive = [], [], []
    for t in range(NEW):
        logp = last.log_softmax(-1)
        scored = last if STOPS is None else last.masked_fill((STOPS - 1 == t)[:, None] != IS_EOS[None, :], -math.inf)
        tok = torch.where(running, torch.multinomial(scored.softmax(-1), 1)[:, 0], PAD)
        toks.append(tok)
        logps.append(logp.gather(1, tok[:, None])[:, 0] * running)
        alive.append(running)
        if STOPS is not None:
            running = running & (tok != EOS)
        if t == NEW - 1 or not running.any():
            break
        mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.long)], 1)
        h, cache = backbone(actor, tok[:, None], mask, cache)
        last = F.linear(h[:, -1], actor["wte"])
    rmask = torch.stack(alive, 1).long()
    assert STOPS is None or rmask.sum(1).tolist() == STOPS.clamp(max=NEW).tolist(), "the responses do not end where the stop schedule says"
    return torch.cat([prompts, torch.stack(toks, 1)], 1), torch.cat([prompt_mask, rmask], 1), rmask.float(), torch.stack(logps, 1)


def gae(rewards, values, gamma=1.0, lam=0.95):
    T = rewards.shape[1]
    adv = torch.zeros_like(rewards)
    last = torch.zeros(B)
    for t in reversed(range(T)):
        nv = values[:, t + 1] if t + 1 < T else torch.zeros(B)
        last = rewards[:, t] + gamma * nv - values[:, t] + gamma * lam * last
        adv[:, t] = last
    return adv, adv + values


def masked_mean(x, m):
    return (x * m).sum() / m.sum()


def whole_batch_mean(x, m):
    """masked_mean over every rank's rows."""
    sums = torch.stack([(x * m).sum(), m.sum()])
    if WORLD > 1:
        dist.all_reduce(sums)
    return sums[0] / sums[1]


def all_rows(x):
    """(B,) of every rank, in rank order."""
    if WORLD == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(WORLD)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def step():
    """One step; returns the seconds of its phases (generation, scoring (reference, reward, cost, critics), update (the rest)) in wall-clock and process CPU time."""
    global log_lambda
    t0, c0 = time.perf_counter(), time.process_time()
    seq, attn, m, old = rollout()
    T = m.shape[1]
    t1, c1 = time.perf_counter(), time.process_time()
    end = attn.shape[1] - 1 - attn.flip(1).argmax(1)  # each row's last real token
    with torch.no_grad():
        ref = response_log_probs(reference, seq, attn, T)
        rew = scores(reward, seq, attn).gather(1, end[:, None])[:, 0]
        cst = scores(cost, seq, attn).gather(1, end[:, None])[:, 0]
        values = {s: scores(c, seq, attn)[:, PROMPT - 1:-1] * m for s, c in critics.items()}
    t2, c2 = time.perf_counter(), time.process_time()
    kl = (old - ref) * m
    last = (m.sum(1).long() - 1)[:, None]
    tok_scores = {"reward": (-KL * kl).scatter_add(1, last, rew.clamp(-50, 50)[:, None]), "cost": (KL * kl).scatter_add(1, last, cst.clamp(-50, 50)[:, None])}
    adv, ret = {}, {}
    for s in critics:
        adv[s], ret[s] = gae(tok_scores[s] * m, values[s])
        adv[s] = adv[s] * m
    costs_window.extend(all_rows(cst).tolist())
    jc = sum(costs_window[-128:]) / len(costs_window[-128:])
    log_lambda += 0.1 * (jc - 0.0)
    lam = math.exp(log_lambda)
    a = (adv["reward"] - lam * adv["cost"]) / (1 + lam)
    mean = whole_batch_mean(a, m)
    a = (a - mean) * torch.rsqrt(whole_batch_mean((a - mean) ** 2, m) + 1e-8) * m
    for _ in range(EPOCHS):
        for s0 in range(0, B, MB):
            rows = slice(s0, s0 + MB)
            mb = m[rows]
            actor_opt.zero_grad()
            lp = train_actor(response_log_probs, seq[rows], attn[rows], T, training=True)
            ratio = torch.exp(lp - old[rows])
            loss = masked_mean(torch.maximum(-a[rows] * ratio, -a[rows] * ratio.clamp(0.8, 1.2)), mb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(actor_params, 1.0)
            actor_opt.step()
            for s, c in critics.items():
                critic_opts[s].zero_grad()
                v = train_critics[s](scores, seq[rows], attn[rows], training=True)[:, PROMPT - 1:-1]
                vclipped = values[s][rows] + (v - values[s][rows]).clamp(-5, 5)
                closs = 0.5 * masked_mean(torch.maximum((v - ret[s][rows]) ** 2, (vclipped - ret[s][rows]) ** 2), mb)
                closs.backward()
                torch.nn.utils.clip_grad_norm_(critic_params[s], 1.0)
                critic_opts[s].step()
    wall = {"generation": t1 - t0, "scoring": t2 - t1, "update": time.perf_counter() - t2}
    cpu = {"generation": c1 - c0, "scoring": c2 - c1, "update": time.process_time() - c2}
    return wall, cpu


step()  # warm-up
times = []
phases = {"generation": [], "scoring": [], "update": []}
cpu_phases = {"generation": [], "scoring": [], "update": []}
for _ in range(args.steps):
    t0 = time.perf_counter()
    wall, cpu = step()
    for k in phases:
        phases[k].append(wall[k])
        cpu_phases[k].append(cpu[k])
    times.append(time.perf_counter() - t0)
if RANK == 0:
    print(json.dumps({"times": times, "phases": phases, "cpuPhases": cpu_phases, "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "baseRssMB": BASE_RSS_MB}), flush=True)
if WORLD > 1:
    dist.destroy_process_group()
