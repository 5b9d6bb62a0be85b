"""Golden values and gradients for safealign's losses and RL maths (src/losses, src/rl).

Run: /usr/bin/python3 reference/losses_rl.py  -> reference/golden/losses_rl.json
Each case stores inputs, outputs and gradients of the output (or loss) w.r.t. the float inputs.
Formulas follow ../shared/DESIGN.md §5. Masked token losses (PPO, critic, SFT/PTX) are computed both ways
where safealign offers both (rl.lossAggregation): 'token' = mean over all response tokens of the batch
(`masked_mean` below, TRL/DAPO style, our default) and 'per-sequence' = mean within each sequence, then over
sequences (`masked_mean_per_sequence`, which is PKU-Alignment/safe-rlhf's `masked_mean`).
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # goldens in double; TS compares float32 at ~1e-5
B, T = 4, 6


def lst(t):
    return t.detach().tolist()


def grads(loss, inputs):
    gs = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [None if g is None else lst(g) for g in gs]


out = {}

# --- reward model loss -----------------------------------------------------------------
rw = torch.randn(B, requires_grad=True)
rl = torch.randn(B, requires_grad=True)
reg = 0.001
loss = -F.logsigmoid(rw - rl).mean() + reg * (rw.square().mean() + rl.square().mean())
out["reward"] = {"chosen": lst(rw), "rejected": lst(rl), "reg": reg, "loss": loss.item(),
                 "accuracy": (rw > rl).double().mean().item(), "grads": grads(loss, [rw, rl])}

# --- cost model loss -------------------------------------------------------------------
cs = torch.randn(B, requires_grad=True)   # safer response's cost
cu = torch.randn(B, requires_grad=True)   # unsafer response's cost
safer_safe = torch.tensor([True, True, False, True])
unsafer_safe = torch.tensor([False, True, False, False])
s_safer = torch.where(safer_safe, -1.0, 1.0)     # cost sign: +1 unsafe, -1 safe
s_unsafer = torch.where(unsafer_safe, -1.0, 1.0)
loss = (-F.logsigmoid(cu - cs).mean() - F.logsigmoid(s_safer * cs).mean() - F.logsigmoid(s_unsafer * cu).mean()
        + reg * (cs.square().mean() + cu.square().mean()))
sign_acc = torch.cat([(torch.sign(cs) == s_safer), (torch.sign(cu) == s_unsafer)]).double().mean().item()
out["cost"] = {"safer": lst(cs), "unsafer": lst(cu), "saferIsSafe": lst(safer_safe), "unsaferIsSafe": lst(unsafer_safe),
               "reg": reg, "loss": loss.item(), "accuracy": (cu > cs).double().mean().item(), "signAccuracy": sign_acc,
               "grads": grads(loss, [cs, cu])}

# --- DPO -----------------------------------------------------------------------------------
pc, pr, rc, rr = (torch.randn(B, requires_grad=True) for _ in range(4))
beta = 0.1
logits = beta * ((pc - rc) - (pr - rr))
loss = -F.logsigmoid(logits).mean()
out["dpo"] = {"policyChosen": lst(pc), "policyRejected": lst(pr), "refChosen": lst(rc), "refRejected": lst(rr),
              "beta": beta, "loss": loss.item(), "rewardAccuracy": (logits > 0).double().mean().item(),
              "grads": grads(loss, [pc, pr])}

# --- masks: response tokens of varied lengths ------------------------------------------------
lengths = [6, 4, 1, 3]
mask = torch.zeros(B, T)
for i, n in enumerate(lengths):
    mask[i, :n] = 1.0


def masked_mean(x, m):
    """'token': mean over all masked tokens of the batch (NOT safe-rlhf's masked_mean)."""
    return (x * m).sum() / m.sum()


def masked_mean_per_sequence(x, m):
    """'per-sequence': safe-rlhf's masked_mean, ((x * m).sum(-1) / m.sum(-1)).mean()."""
    return ((x * m).sum(dim=-1) / m.sum(dim=-1)).mean()


# --- PPO clipped policy loss ---------------------------------------------------------------
logp = (torch.randn(B, T) * 0.3 - 1.0).requires_grad_()
old_logp = logp.detach() + torch.randn(B, T) * 0.2
adv = torch.randn(B, T)
clip = 0.2
ratio = torch.exp(logp - old_logp)
pg1 = -adv * ratio
pg2 = -adv * torch.clamp(ratio, 1 - clip, 1 + clip)
loss = masked_mean(torch.maximum(pg1, pg2), mask)
clipfrac = masked_mean(((ratio - 1).abs() > clip).double(), mask).item()
approx_kl = masked_mean(0.5 * (logp - old_logp).square(), mask).item()
out["ppo"] = {"logProbs": lst(logp), "oldLogProbs": lst(old_logp), "advantages": lst(adv), "mask": lst(mask),
              "clip": clip, "loss": loss.item(), "clipFraction": clipfrac, "approxKl": approx_kl,
              "grads": grads(loss, [logp])}
ratio = torch.exp(logp - old_logp)  # a fresh graph for the second loss
loss_seq = masked_mean_per_sequence(torch.maximum(-adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip)), mask)
out["ppo"]["perSequence"] = {"loss": loss_seq.item(), "grads": grads(loss_seq, [logp])}

# --- clipped critic loss ---------------------------------------------------------------------
values = (torch.randn(B, T) * 3).requires_grad_()
old_values = values.detach() + torch.randn(B, T) * 4
returns = torch.randn(B, T) * 3
vclip = 5.0
v_clipped = old_values + torch.clamp(values - old_values, -vclip, vclip)
loss = 0.5 * masked_mean(torch.maximum((values - returns).square(), (v_clipped - returns).square()), mask)
out["critic"] = {"values": lst(values), "oldValues": lst(old_values), "returns": lst(returns), "mask": lst(mask),
                 "clip": vclip, "loss": loss.item(), "grads": grads(loss, [values])}
v_clipped = old_values + torch.clamp(values - old_values, -vclip, vclip)
loss_seq = 0.5 * masked_mean_per_sequence(torch.maximum((values - returns).square(), (v_clipped - returns).square()), mask)
out["critic"]["perSequence"] = {"loss": loss_seq.item(), "grads": grads(loss_seq, [values])}

# --- masked token cross-entropy (SFT / PTX) -------------------------------------------------
V = 7
logits = torch.randn(B, T, V, requires_grad=True)
labels = torch.randint(0, V, (B, T))
ce = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), reduction="none").reshape(B, T)
loss = masked_mean(ce, mask)
out["sft"] = {"logits": lst(logits), "labels": lst(labels), "mask": lst(mask), "loss": loss.item(),
              "grads": grads(loss, [logits])}

# --- KL shaping of reward and cost streams ---------------------------------------------------
pol = torch.randn(B, T) * 0.5 - 1
ref = torch.randn(B, T) * 0.5 - 1
R = torch.tensor([1.5, -60.0, 0.3, 2.0])   # -60 exercises the ±50 clamp
C = torch.tensor([-0.5, 0.7, 55.0, -1.0])
kl_beta = 0.01
kl = pol - ref
end = torch.tensor([n - 1 for n in lengths])
r_tok = -kl_beta * kl * mask
c_tok = kl_beta * kl * mask
r_tok = r_tok.scatter_add(1, end[:, None], R.clamp(-50, 50)[:, None])
c_tok = c_tok.scatter_add(1, end[:, None], C.clamp(-50, 50)[:, None])
out["klShaping"] = {"policyLogProbs": lst(pol), "refLogProbs": lst(ref), "mask": lst(mask), "reward": lst(R), "cost": lst(C),
                    "beta": kl_beta, "clip": 50.0, "rewards": lst(r_tok), "costs": lst(c_tok)}

# --- GAE -------------------------------------------------------------------------------------
def gae(rewards, values, m, gamma, lam):
    adv = torch.zeros_like(rewards)
    last = torch.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        next_v = values[:, t + 1] * m[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros(rewards.shape[0])
        delta = rewards[:, t] + gamma * next_v - values[:, t]
        nxt = last * (m[:, t + 1] if t + 1 < rewards.shape[1] else 0.0)
        last = delta + gamma * lam * nxt
        adv[:, t] = last
    adv = adv * m
    return adv, (adv + values) * m


vals = torch.randn(B, T)
adv1, ret1 = gae(r_tok, vals, mask, 1.0, 0.95)
adv2, ret2 = gae(r_tok, vals, mask, 0.99, 0.9)
out["gae"] = {"rewards": lst(r_tok), "values": lst(vals), "mask": lst(mask),
              "cases": [{"gamma": 1.0, "lambda": 0.95, "advantages": lst(adv1), "returns": lst(ret1)},
                        {"gamma": 0.99, "lambda": 0.9, "advantages": lst(adv2), "returns": lst(ret2)}]}

# --- advantage combination and whitening ----------------------------------------------------
ar = torch.randn(B, T)
ac = torch.randn(B, T)
lam_mult = 0.7
comb = (ar - lam_mult * ac) / (1 + lam_mult)
mean = masked_mean(ar, mask)
var = masked_mean((ar - mean).square(), mask)
whitened = (ar - mean) * torch.rsqrt(var + 1e-8) * mask
out["advantage"] = {"rewardAdvantages": lst(ar), "costAdvantages": lst(ac), "lambda": lam_mult, "combined": lst(comb),
                    "mask": lst(mask), "whitened": lst(whitened)}

# --- Lagrange multiplier: torch SGD on -(J_c - d) * exp(log_lambda) ---------------------------
log_lam = torch.tensor(0.0, requires_grad=True)  # lambda init 1
opt = torch.optim.SGD([log_lam], lr=0.1)
d = 0.0
window = []
trace = []
episode_batches = [[1.0, 2.0, 0.5], [0.8, 1.2], [0.4, 0.1, 0.3, 0.2], [-0.5, -1.0], [-1.0, -2.0, -1.5], [-2.0, -2.0], [-1.5]]
win = 4
for batch in episode_batches:
    window = (window + batch)[-win:]
    jc = sum(window) / len(window)
    opt.zero_grad()
    lam_loss = -(jc - d) * log_lam.exp()
    lam_loss.backward()
    opt.step()
    trace.append({"jc": jc, "lambda": log_lam.exp().item(), "logLambda": log_lam.item()})
out["lagrange"] = {"init": 1.0, "lr": 0.1, "threshold": d, "window": win, "batches": episode_batches, "trace": trace}

# 'multiplicative' rule: torch SGD on -(J_c - d) * log_lambda (log λ moves by lr·(J_c - d))
log_lam = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([log_lam], lr=0.1)
window = []
trace = []
big_batches = [[4.0, 6.0], [5.0], [5.0, 4.0], [6.0, 5.0], [-6.0, -4.0], [-5.0], [-3.0, -4.5, -2.0]]
for batch in big_batches:
    window = (window + batch)[-win:]
    jc = sum(window) / len(window)
    opt.zero_grad()
    lam_loss = -(jc - d) * log_lam
    lam_loss.backward()
    opt.step()
    trace.append({"jc": jc, "lambda": log_lam.exp().item(), "logLambda": log_lam.item()})
out["lagrangeMultiplicative"] = {"init": 1.0, "lr": 0.1, "threshold": d, "window": win, "batches": big_batches, "trace": trace}

# λ_max: clamp log λ at log(λ_max) after each step
log_lam = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([log_lam], lr=0.5)
trace = []
for jc in [3.0, 3.0, 3.0]:
    opt.zero_grad()
    (-(jc - 0.0) * log_lam.exp()).backward()
    opt.step()
    with torch.no_grad():
        log_lam.clamp_(max=torch.log(torch.tensor(2.0)).item())
    trace.append(log_lam.exp().item())
out["lagrangeMax"] = {"lr": 0.5, "lambdaMax": 2.0, "costs": [3.0, 3.0, 3.0], "lambdas": trace}

Path(__file__).parent.joinpath("golden").mkdir(exist_ok=True)
Path(__file__).parent.joinpath("golden", "losses_rl.json").write_text(json.dumps(out))
print("wrote reference/golden/losses_rl.json")
