"""PyTorch reference for bench/rl-step: one PPO-Lagrangian step of the same models and work as bench/rl-step/run.ts.

Usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/rl-step/torch_ref.py --size tiny|124m --mode full|lora --steps N --threads 2
(run.ts starts it so; with OpenMP's default active wait its idle threads spin on the cores the busy ones need)
Runs one untimed warm-up step and N timed ones, then prints one JSON line: {"times": [s, ...], "phases": {"generation": [s, ...],
"scoring": [...], "update": [...]}, "maxRssMB": peak RSS,
"baseRssMB": RSS with torch imported and no model built}.
One process per (size, mode), so the peak RSS is that configuration's alone.

The step, as safealign's trainRl runs it (src/algorithms/rl/step.ts) with rl defaults, ppoEpochs 1 and one mini-batch of 8:
  rollout: the actor (eval mode, no gradient) samples 64 new tokens for 8 prompts of 64 tokens (temperature 1, KV cache,
  no stop token), keeping each token's log-probability; scoring (no gradient): reference log-probs of the response
  tokens, reward and cost end scores, reward- and cost-critic values; per-token KL shaping (beta 0.01) of both streams;
  GAE (gamma 1, lambda 0.95) per stream; one Lagrange step on log lambda; actor advantage (A_r - lambda A_c)/(1 + lambda),
  whitened; actor: PPO clipped loss (token mean), backward, grad-norm clip 1, AdamW (lr 2e-4); each critic: clipped value
  loss, backward, clip, AdamW (lr 1e-3).
Models: GPT-2 (tied LM head, Conv1D weights (in, out)); score models = backbone + linear head (end score at the last
token). LoRA mode (peft's defaults for GPT-2, as safealign's): r 8, alpha 16, dropout 0.05 on c_attn of the actor and
both critics (critic heads train in full), base weights frozen; the optimisers hold only the trainable tensors.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--size", choices=["tiny", "124m"], default="tiny")
ap.add_argument("--mode", choices=["full", "lora"], default="full")
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
BASE_RSS_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the runtime alone, before any model

SIZES = {"tiny": dict(D=64, L=2, H=4, ctx=256, V=1024), "124m": dict(D=768, L=12, H=12, ctx=1024, V=50257)}
S = SIZES[args.size]
D, NL, H, CTX, V = S["D"], S["L"], S["H"], S["ctx"], S["V"]
B, PROMPT, NEW = 8, 64, 64
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
    """Hidden states (b, l, D) after ln_f, and the new KV cache."""
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


def lm_logits(p, ids, mask, cache=None, training=False):
    h, c = backbone(p, ids, mask, cache, training)
    return F.linear(h, p["wte"]), c


def response_log_probs(p, seq, mask, training=False):
    """(B, NEW) log-probabilities of the response tokens."""
    logits, _ = lm_logits(p, seq, mask, training=training)
    lp = logits[:, PROMPT - 1:-1].log_softmax(-1)
    return lp.gather(2, seq[:, PROMPT:, None])[..., 0]


def scores(p, seq, mask, training=False):
    """(B, PROMPT + NEW) per-token scores of a score model."""
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
    actor_params = [v.requires_grad_() for v in actor.values()]
    critic_params = {s: [v.requires_grad_() for v in c.values()] for s, c in critics.items()}
actor_opt = torch.optim.AdamW(actor_params, lr=2e-4, weight_decay=0)
critic_opts = {s: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0) for s, ps in critic_params.items()}
prompts = torch.randint(1, V, (B, PROMPT))
log_lambda = 0.0
costs_window = []


@torch.no_grad()
def rollout():
    mask = torch.ones(B, PROMPT, dtype=torch.long)
    logits, cache = lm_logits(actor, prompts, mask)
    last = logits[:, -1]
    toks, logps = [], []
    for t in range(NEW):
        logp = last.log_softmax(-1)
        tok = torch.multinomial(logp.exp(), 1)
        toks.append(tok)
        logps.append(logp.gather(1, tok))
        if t == NEW - 1:
            break
        mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.long)], 1)
        logits, cache = lm_logits(actor, tok, mask, cache)
        last = logits[:, 0]
    return torch.cat([prompts, torch.cat(toks, 1)], 1), torch.cat(logps, 1)


def gae(rewards, values, gamma=1.0, lam=0.95):
    adv = torch.zeros_like(rewards)
    last = torch.zeros(B)
    for t in reversed(range(NEW)):
        nv = values[:, t + 1] if t + 1 < NEW else torch.zeros(B)
        last = rewards[:, t] + gamma * nv - values[:, t] + gamma * lam * last
        adv[:, t] = last
    return adv, adv + values


def step():
    """One step; returns the seconds of its phases: generation, scoring (reference, reward, cost, critics), update (the rest)."""
    global log_lambda
    t0 = time.perf_counter()
    seq, old = rollout()
    t1 = time.perf_counter()
    mask = torch.ones_like(seq)
    with torch.no_grad():
        ref = response_log_probs(reference, seq, mask)
        rew = scores(reward, seq, mask)[:, -1]
        cst = scores(cost, seq, mask)[:, -1]
        values = {s: scores(c, seq, mask)[:, PROMPT - 1:-1] for s, c in critics.items()}
    t2 = time.perf_counter()
    kl = old - ref
    tok_scores = {"reward": -0.01 * kl, "cost": 0.01 * kl}
    tok_scores["reward"][:, -1] += rew.clamp(-50, 50)
    tok_scores["cost"][:, -1] += cst.clamp(-50, 50)
    adv, ret = {}, {}
    for s in critics:
        adv[s], ret[s] = gae(tok_scores[s], values[s])
    costs_window.extend(cst.tolist())
    jc = sum(costs_window[-128:]) / len(costs_window[-128:])
    log_lambda += 0.1 * (jc - 0.0)
    lam = math.exp(log_lambda)
    a = (adv["reward"] - lam * adv["cost"]) / (1 + lam)
    a = (a - a.mean()) * torch.rsqrt(((a - a.mean()) ** 2).mean() + 1e-8)
    actor_opt.zero_grad()
    lp = response_log_probs(actor, seq, mask, training=True)
    ratio = torch.exp(lp - old)
    loss = torch.maximum(-a * ratio, -a * ratio.clamp(0.8, 1.2)).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(actor_params, 1.0)
    actor_opt.step()
    for s, c in critics.items():
        critic_opts[s].zero_grad()
        v = scores(c, seq, mask, training=True)[:, PROMPT - 1:-1]
        vclipped = values[s] + (v - values[s]).clamp(-5, 5)
        closs = 0.5 * torch.maximum((v - ret[s]) ** 2, (vclipped - ret[s]) ** 2).mean()
        closs.backward()
        torch.nn.utils.clip_grad_norm_(critic_params[s], 1.0)
        critic_opts[s].step()
    return {"generation": t1 - t0, "scoring": t2 - t1, "update": time.perf_counter() - t2}


step()  # warm-up
times = []
phases = {"generation": [], "scoring": [], "update": []}
for _ in range(args.steps):
    t0 = time.perf_counter()
    for k, v in step().items():
        phases[k].append(v)
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "phases": phases, "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "baseRssMB": BASE_RSS_MB}), flush=True)
