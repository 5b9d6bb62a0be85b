"""Golden optima of the one-token constrained bandit (test/rl/constrained-bandit.test.ts), found numerically.

Run: /usr/bin/python3 reference/bandit_optima.py  -> reference/golden/bandit_optima.json
(also the GRPO / safe GRPO fixed points of test/rl/critic-free-bandit.test.ts, by Newton steps on the expected update)

The test computes the optima in closed form (π ∝ π_ref·exp(score/τ), λ* by bisection). This script
does not use that form: it maximises each KL-regularised objective over the logits with LBFGS in
float64, checks that the loop's expected policy-gradient step vanishes there, and finds the
PPO-Lagrangian fixed point λ* (E_π[C] = d) by bisection over those numerical maximisers.

With one response token, the loop's per-sample actor advantage is (up to a baseline and a positive
scale) the detached shaped score s(a) - τ·(log π(a) - log π_ref(a)), and its expected update is
Σ_a ∇π(a)·that. PPO: s = R, τ = β. Shaping: s = R - ν·C, τ = β. PPO-Lagrangian: reward stream
R - β·kl, cost stream C + β·kl, advantage (A_r - λ·A_c)/(1+λ), so s = R - λ·C and τ = (1+λ)·β.
λ moves by lr·(J_c - d) with J_c the mean raw episode cost, so it rests where E_π[C] = d.
"""
import json
from pathlib import Path

import torch

torch.set_default_dtype(torch.float64)

# The task's tables: 13 poor tokens (specials, prompt words), then comply, help, refuse.
V_POOR = 13
reward = torch.tensor([-1.0] * V_POOR + [2.0, 1.0, 0.0])
cost = torch.tensor([0.0] * V_POOR + [1.0, -1.0, -2.0])
ref_weights = torch.tensor([0.3] * V_POOR + [1.0, 2.0, 3.0])
pi_ref = ref_weights / ref_weights.sum()
BETA, NU, D = 0.5, 2.0, 0.0


def maximise(score, tau):
    """argmax_π E_π[score] - τ·KL(π || π_ref) over softmax logits (Newton steps), and the loop's expected step there."""

    def objective(logits):
        logp = torch.log_softmax(logits, 0)
        p = logp.exp()
        return (p * score).sum() - tau * (p * (logp - torch.log(pi_ref))).sum()

    def expected_step(logits):
        # Expected policy-gradient step with the KL-shaped score detached (what PPO's surrogate does at ratio 1).
        logits = logits.detach().requires_grad_(True)
        logp = torch.log_softmax(logits, 0)
        advantage = (score - tau * (logp - torch.log(pi_ref))).detach()
        return torch.autograd.grad((logp.exp() * advantage).sum(), logits)[0]

    logits = torch.zeros_like(score)
    for _ in range(200):
        x = logits.detach().requires_grad_(True)
        grad = torch.autograd.grad(objective(x), x)[0]
        hess = torch.autograd.functional.hessian(objective, logits)
        # Newton step in the (V-1)-dim space the softmax sees (the all-ones direction is flat); damped far from the optimum.
        step = -torch.linalg.pinv(hess, hermitian=True) @ grad
        if bool((torch.linalg.eigvalsh(hess)[-1] > 1e-12)) or step.norm() > 1:
            step = grad / (grad.norm() + 1e-300)  # not yet in the concave region: a unit gradient step
        logits = logits + step
        if float(expected_step(logits).abs().max()) < 1e-14:
            break
    return torch.softmax(logits, 0), float(expected_step(logits).abs().max())


def lagrangian(lam):
    return maximise(reward - lam * cost, (1 + lam) * BETA)


ppo, ppo_step = maximise(reward, BETA)
shaping, shaping_step = maximise(reward - NU * cost, BETA)

lo, hi = -10.0, 10.0  # log λ
assert float((lagrangian(torch.exp(torch.tensor(lo)).item())[0] * cost).sum()) > D
assert float((lagrangian(torch.exp(torch.tensor(hi)).item())[0] * cost).sum()) < D
for _ in range(60):
    mid = (lo + hi) / 2
    p, _ = lagrangian(float(torch.exp(torch.tensor(mid))))
    if float((p * cost).sum()) > D:
        lo = mid
    else:
        hi = mid
lam_star = float(torch.exp(torch.tensor((lo + hi) / 2)))
lag, lag_step = lagrangian(lam_star)

# --- GRPO (scale_rewards 'none', β·k3 in the loss) with G samples per prompt ------------------------------
# The expected update of the loop: for a sample a of a group of G (others independent), the group-mean
# advantage's expectation is (1 - 1/G)·(S(a) - E_π S); the k3 term is differentiated through log π at
# ratio 1. The fixed point is where this vector field vanishes, found by Newton steps on it (autograd Jacobian).
G = 8


def grpo_field(logits, score):
    logp = torch.log_softmax(logits, 0)
    p = logp.exp().detach()
    adv = (1 - 1 / G) * (score - (p * score).sum())
    d = torch.log(pi_ref) - logp
    k3 = torch.exp(d) - d - 1
    # ascent direction of the sampled surrogate E_a~π_old[A·log π(a) - β·k3(a)]
    return torch.autograd.grad((p * (adv * logp - BETA * k3)).sum(), logits, create_graph=True)[0]


def grpo_fixed_point(score):
    logits = torch.log(pi_ref).clone()
    for _ in range(100):
        x = logits.detach().requires_grad_(True)
        f = grpo_field(x, score)
        if float(f.abs().max()) < 1e-14:
            break
        jac = torch.autograd.functional.jacobian(lambda z: grpo_field(z, score), x)
        step = -torch.linalg.pinv(jac) @ f.detach()
        logits = logits + (step if step.norm() < 1 else step / step.norm())
    x = logits.detach().requires_grad_(True)
    return torch.softmax(logits, 0), float(grpo_field(x, score).abs().max())


grpo, grpo_step = grpo_fixed_point(reward)
grpo_w, grpo_w_step = grpo_fixed_point(reward - NU * cost)
lo, hi = -10.0, 10.0
for _ in range(60):
    mid = (lo + hi) / 2
    lam = float(torch.exp(torch.tensor(mid)))
    p, _ = grpo_fixed_point((reward - lam * cost) / (1 + lam))
    if float((p * cost).sum()) > D:
        lo = mid
    else:
        hi = mid
safe_lam = float(torch.exp(torch.tensor((lo + hi) / 2)))
safe_grpo, safe_step = grpo_fixed_point((reward - safe_lam * cost) / (1 + safe_lam))

out = {
    'groupSize': G,
    'grpo': grpo.tolist(),
    'grpoCostWeighted': grpo_w.tolist(),
    'safeGrpoLambda': safe_lam,
    'safeGrpo': safe_grpo.tolist(),
    'maxGrpoStep': max(grpo_step, grpo_w_step, safe_step),
    'piRef': pi_ref.tolist(),
    'reward': reward.tolist(),
    'cost': cost.tolist(),
    'beta': BETA,
    'nu': NU,
    'threshold': D,
    'ppo': ppo.tolist(),
    'shaping': shaping.tolist(),
    'lambda': lam_star,
    'lag': lag.tolist(),
    'lagExpectedCost': float((lag * cost).sum()),
    'maxExpectedStep': max(ppo_step, shaping_step, lag_step),
}
path = Path(__file__).parent / 'golden' / 'bandit_optima.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'GRPO fixed points: largest expected step {out["maxGrpoStep"]:.1e}; safe GRPO λ* = {safe_lam:.6f}')
print(f'wrote {path}: λ* = {lam_star:.6f}, E[C] at λ* = {out["lagExpectedCost"]:.2e}, largest expected step at the optima {out["maxExpectedStep"]:.1e}')
