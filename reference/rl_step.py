"""Golden values of one whole PPO-Lagrangian step (src/algorithms/rl/step.ts) on a fixed rollout, in PyTorch
(and of one PPO step and one reward-shaping step, R - nu*C with a single critic, on the same rollout).

Run: /usr/bin/python3 reference/rl_step.py
Writes reference/golden/rl-step/{reference,reward,cost}/model.safetensors (weights the TS test loads) and
reference/golden/rl_step.json (inputs, settings and every intermediate quantity of the step: PPO-Lagrangian
under both rl.lossAggregation settings, PPO and shaping under 'token').

Models: the actor is reference/golden/tiny-gpt2 (written by reference/models.py, whose GPT-2 forward is reused);
the reference policy and the reward and cost score models (GPT-2 backbone + linear head, end score at the last
non-pad token) are that checkpoint plus fixed noise; each critic starts as a copy of its stream's score model.
The step, as safealign runs it (ppoEpochs 1, two mini-batches of two sequences):
  old log-probs (actor) and ref log-probs of the response tokens; reward/cost end scores; critic values;
  per-token KL = (log pi_old - log pi_ref) * mask; token scores -beta*KL (reward) and +beta*KL (cost), the clamped
  end score added at the last response token; GAE per stream; one Lagrange step (multiplicative rule: log lambda +=
  lr * (J_c - d), J_c the mean episode cost); actor advantage (A_r - lambda*A_c)/(1 + lambda), whitened over the mask;
  per mini-batch: PPO clipped loss (+ ptxCoef * token-mean PTX cross-entropy), gradient clipping, one AdamW step,
  then per critic: clipped value loss, gradient clipping, one AdamW step.
Computed in float64 from float32 weights; the TS side runs float32.
"""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from models import g_cfg, gpt2_forward, gpt2_hidden, write_safetensors  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
OUT = Path(__file__).parent / "golden"
CFG = g_cfg


def read_safetensors(path):
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32"
        s, e = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").copy()).reshape(h["shape"]).double()
    return out


gen = torch.Generator().manual_seed(7)


def noisy(p, scale):
    """p plus Gaussian noise, rounded to float32 (the weights both sides load)."""
    return {k: (v + scale * torch.randn(v.shape, generator=gen)).float().double() for k, v in p.items()}


actor0 = read_safetensors(OUT / "tiny-gpt2" / "model.safetensors")
D = CFG["n_embd"]
reference = noisy(actor0, 0.05)
reward0 = {**noisy(actor0, 0.1), "score_head.weight": (torch.randn(1, D, generator=gen) * 0.7).float().double(),
           "score_head.bias": torch.tensor([0.1])}
cost0 = {**noisy(actor0, 0.1), "score_head.weight": (torch.randn(1, D, generator=gen) * 0.7).float().double(),
         "score_head.bias": torch.tensor([-0.2])}
for name, params in [("reference", reference), ("reward", reward0), ("cost", cost0)]:
    d = OUT / "rl-step" / name
    d.mkdir(parents=True, exist_ok=True)
    write_safetensors(d / "model.safetensors", params)

# --- the fixed rollout: left-padded prompts (L = 4), responses (T = 5) ending in EOS (id 1) or cut at T ---
L, T = 4, 5
sequences = torch.tensor([[0, 0, 5, 9, 12, 7, 1, 0, 0],
                          [4, 8, 15, 16, 23, 12, 30, 11, 1],
                          [0, 6, 7, 8, 1, 0, 0, 0, 0],
                          [0, 0, 0, 20, 33, 21, 4, 17, 25]])
mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float64)
attention = torch.cat([(sequences[:, :L] != 0).long(), mask.long()], 1)
B = sequences.shape[0]
ptx_prompt, ptx_response = [2, 5, 6], [7, 8, 1]  # one SFT example: every PTX draw picks it

S = {"klCoef": 0.1, "scoreClip": 3.0, "gamma": 0.99, "gaeLambda": 0.9, "clipRange": 0.2, "valueClip": 0.02,
     "ptxCoef": 0.3, "miniBatchSize": 2, "actorLr": 0.004, "criticLr": 0.01, "weightDecay": 0.01, "actorGradClip": 0.5,
     "criticGradClip": 0.5, "nu": 0.7, "lagrange": {"threshold": 0.0, "init": 0.5, "lr": 0.2, "window": 128}}


def response_log_probs(p, ids, attn):
    """(b, T) log-probabilities of the response tokens under the LM p."""
    logits = gpt2_forward(p, CFG, ids, attn)
    lp = logits[:, :-1].log_softmax(-1).gather(2, ids[:, 1:, None])[..., 0]
    return lp[:, L - 1:L - 1 + T]


def scores(p, ids, attn):
    """(b, L + T) per-token scores of a score model."""
    return (gpt2_hidden(p, CFG, ids, attn) @ p["score_head.weight"].T)[..., 0] + p["score_head.bias"]


def end_scores(p, ids, attn):
    last = (attn * torch.arange(1, attn.shape[1] + 1)).argmax(1)
    return scores(p, ids, attn).gather(1, last[:, None])[:, 0]


def masked_mean(x, m):
    return (x * m).sum() / m.sum()


def masked_mean_per_sequence(x, m):
    return ((x * m).sum(-1) / m.sum(-1)).mean()


AGG = {"token": masked_mean, "per-sequence": masked_mean_per_sequence}


def gae(rewards, values, m, gamma, lam):
    adv = torch.zeros_like(rewards)
    last = torch.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        nm = m[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros(rewards.shape[0])
        nv = values[:, t + 1] * nm if t + 1 < rewards.shape[1] else torch.zeros(rewards.shape[0])
        last = rewards[:, t] + gamma * nv - values[:, t] + gamma * lam * last * nm
        adv[:, t] = last
    return adv * m, (adv + values) * m


def lst(t):
    return t.detach().tolist()


def step(method, aggregation):
    """One step of 'ppo_lag' (reward and cost streams, lambda), 'ppo' (reward only) or 'shaping' (R - nu*C, one critic)."""
    streams = [("reward", reward0), ("cost", cost0)] if method == "ppo_lag" else [("reward", reward0)]
    actor = {k: v.clone().requires_grad_() for k, v in actor0.items()}
    critics = {s: {k: v.clone().requires_grad_() for k, v in p.items()} for s, p in streams}
    with torch.no_grad():
        old = response_log_probs(actor, sequences, attention) * mask
        ref = response_log_probs(reference, sequences, attention)
        R = end_scores(reward0, sequences, attention)
        C = end_scores(cost0, sequences, attention)
        values = {s: scores(p, sequences, attention)[:, L - 1:L - 1 + T] * mask for s, p in critics.items()}
    kl = (old - ref) * mask
    end = (mask * torch.arange(1, T + 1)).argmax(1)
    clip = S["scoreClip"]
    reward_end = R - S["nu"] * C if method == "shaping" else R
    token_scores = {"reward": (-S["klCoef"] * kl * mask).scatter_add(1, end[:, None], reward_end.clamp(-clip, clip)[:, None])}
    if method == "ppo_lag":
        token_scores["cost"] = (S["klCoef"] * kl * mask).scatter_add(1, end[:, None], C.clamp(-clip, clip)[:, None])
    adv, ret = {}, {}
    for s in critics:
        adv[s], ret[s] = gae(token_scores[s], values[s], mask, S["gamma"], S["gaeLambda"])
    lam = jc = None
    if method == "ppo_lag":
        lg = S["lagrange"]
        jc = C.mean().item()  # the window holds this step's B episode costs only
        log_lambda = math.log(lg["init"]) + lg["lr"] * (jc - lg["threshold"])
        lam = math.exp(log_lambda)
        combined = (adv["reward"] - lam * adv["cost"]) / (1 + lam)
    else:
        combined = adv["reward"]
    mean = masked_mean(combined, mask)
    whitened = (combined - mean) * torch.rsqrt(masked_mean((combined - mean) ** 2, mask) + 1e-8) * mask

    actor_opt = torch.optim.AdamW(list(actor.values()), lr=S["actorLr"], weight_decay=S["weightDecay"])
    critic_opts = {s: torch.optim.AdamW(list(p.values()), lr=S["criticLr"], weight_decay=S["weightDecay"]) for s, p in critics.items()}
    ptx_ids = torch.tensor([ptx_prompt + ptx_response] * S["miniBatchSize"])
    ptx_resp = torch.tensor([[0.0] * len(ptx_prompt) + [1.0] * len(ptx_response)] * S["miniBatchSize"])
    updates = []
    for start in range(0, B, S["miniBatchSize"]):
        rows = slice(start, start + S["miniBatchSize"])
        ids, attn, m = sequences[rows], attention[rows], mask[rows]
        actor_opt.zero_grad()
        lp = response_log_probs(actor, ids, attn)
        ratio = torch.exp(lp - old[rows])
        a = whitened[rows]
        pg = AGG[aggregation](torch.maximum(-a * ratio, -a * ratio.clamp(1 - S["clipRange"], 1 + S["clipRange"])), m)
        logits = gpt2_forward(actor, CFG, ptx_ids, torch.ones_like(ptx_ids))
        ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ptx_ids[:, 1:].reshape(-1), reduction="none").reshape(ptx_ids.shape[0], -1)
        ptx = masked_mean(ce, ptx_resp[:, 1:])
        (pg + S["ptxCoef"] * ptx).backward()
        actor_norm = torch.nn.utils.clip_grad_norm_(list(actor.values()), S["actorGradClip"]).item()
        actor_opt.step()
        u = {"actorLoss": pg.item(), "ptxLoss": ptx.item(), "actorGradNorm": actor_norm,
             "clipFraction": masked_mean(((ratio - 1).abs() > S["clipRange"]).double(), m).item(), "critics": {}}
        for s, p in critics.items():
            critic_opts[s].zero_grad()
            v = scores(p, ids, attn)[:, L - 1:L - 1 + T]
            vold, r = values[s][rows], ret[s][rows]
            vclipped = vold + (v - vold).clamp(-S["valueClip"], S["valueClip"])
            loss = 0.5 * AGG[aggregation](torch.maximum((v - r) ** 2, (vclipped - r) ** 2), m)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(list(p.values()), S["criticGradClip"]).item()
            critic_opts[s].step()
            u["critics"][s] = {"loss": loss.item(), "gradNorm": norm}
        updates.append(u)
    n = len(updates)
    return {
        "oldLogProbs": lst(old), "refLogProbs": lst(ref), "reward": lst(R), "cost": lst(C),
        "values": {s: lst(v) for s, v in values.items()}, "kl": lst(kl),
        "tokenScores": {s: lst(v) for s, v in token_scores.items()},
        "advantages": {s: lst(v) for s, v in adv.items()}, "returns": {s: lst(v) for s, v in ret.items()},
        "lambda": lam, "jc": jc, "combined": lst(combined), "whitened": lst(whitened), "updates": updates,
        "log": {"reward": R.mean().item(), "cost": C.mean().item(), "kl": kl.sum(1).mean().item(),
                "actorLoss": sum(u["actorLoss"] for u in updates) / n, "clipFraction": sum(u["clipFraction"] for u in updates) / n,
                "criticLoss": {s: sum(u["critics"][s]["loss"] for u in updates) / n for s in critics}},
        "actorAfter": {k: lst(v) for k, v in actor.items()},
        "criticsAfter": {s: {k: lst(v) for k, v in p.items()} for s, p in critics.items()},
    }


out = {"sequences": lst(sequences), "attentionMask": lst(attention), "mask": lst(mask), "promptLength": L,
       "ptx": {"promptIds": ptx_prompt, "responseIds": ptx_response}, "settings": S,
       "ppo_lag": {"token": step("ppo_lag", "token"), "per-sequence": step("ppo_lag", "per-sequence")},
       "ppo": {"token": step("ppo", "token")}, "shaping": {"token": step("shaping", "token")}}
(OUT / "rl_step.json").write_text(json.dumps(out))
print("wrote reference/golden/rl-step/ and reference/golden/rl_step.json")
