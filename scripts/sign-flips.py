"""Mutation check of the RL loop: applies each known sign flip to src/ alone, runs the bandit tests, reverts.

Run from the repository root: python3 scripts/sign-flips.py [flip ...]   (about 30 s per flip on one core)
Prints, per flip, which tests of its bandit test file (test/rl/constrained-bandit.test.ts for the PPO family,
test/rl/critic-free-bandit.test.ts for GRPO, safe GRPO and RLOO-Lagrangian) failed; every flip must fail at least one.
A flip whose source pattern is no longer found (the code moved) is reported, not silently skipped.
The source file is always restored, also on Ctrl-C.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# name -> (file, [(original text, flipped text), ...])
FLIPS = {
    'ppo-lag cost stream negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef, config.scoreClip),', 'cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef, config.scoreClip).neg(),')]),
    'ppo-lag cost score negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl', 'cost: klShapedScores(r.cost.neg(), r.kl')]),
    'ppo-lag KL bonus (both streams)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef'), ('cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef', 'cost: klShapedScores(r.cost, r.kl, r.mask, -config.klCoef')]),
    'ppo-lag KL bonus (reward stream)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef')]),
    'ppo-lag KL bonus (cost stream)': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef', 'cost: klShapedScores(r.cost, r.kl, r.mask, -config.klCoef')]),
    'shaping R + nu*C': ('src/algorithms/reward-shaping/method.ts', [('r.reward.sub(r.cost.mul(config.nu))', 'r.reward.add(r.cost.mul(config.nu))')]),
    'loop kl = ref - old': ('src/algorithms/rl/scoring.ts', [('const kl = rollout.oldLogProbs.sub(scores.refLogProbs).mul(rollout.mask);', 'const kl = scores.refLogProbs.sub(rollout.oldLogProbs).mul(rollout.mask);')]),
    'actor ascends -advantage': ('src/algorithms/rl/actor-update.ts', [('batch.oldLogProbs, batch.advantages, batch.mask', 'batch.oldLogProbs, batch.advantages.neg(), batch.mask')]),
    'lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')]),
    'ppo clip inverted (min for max)': ('src/losses/ppo.ts', [('unclipped.maximum(clipped)', 'unclipped.minimum(clipped)')]),
    'ppo clip inverted (range swapped)': ('src/losses/ppo.ts', [('ratio.clamp(1 - opts.clipLow, 1 + opts.clipHigh)', 'ratio.clamp(1 + opts.clipHigh, 1 - opts.clipLow)')]),
    'A_r + lambda*A_c': ('src/rl/advantage.ts', [('.sub(costAdvantages.mul(w))', '.add(costAdvantages.mul(w))')]),
    # the critic-free methods (CRITIC_FREE below runs them against test/rl/critic-free-bandit.test.ts)
    'group baseline inverted': ('src/rl/group.ts', [('const centred = g.sub(g.mean(1, true));', 'const centred = g.mean(1, true).sub(g);')]),
    'leave-one-out baseline inverted': ('src/rl/group.ts', [('g.mul(groupSize).sub(g.sum(1, true))', 'g.sum(1, true).sub(g.mul(groupSize))')]),
    'k3 term rewards distance': ('src/losses/ppo.ts', [('perToken = perToken.add(k3.mul(opts.kl.coef));', 'perToken = perToken.sub(k3.mul(opts.kl.coef));')]),
    'grpo R + w*C': ('src/algorithms/grpo/method.ts', [('r.reward.sub((r.cost', 'r.reward.add((r.cost')]),
    'critic-free A_r + lambda*A_c': ('src/rl/advantage.ts', [('.sub(costAdvantages.mul(w))', '.add(costAdvantages.mul(w))')]),
    'critic-free lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')]),
    'critic-free cost score negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl', 'cost: klShapedScores(r.cost.neg(), r.kl')]),
    'rloo KL bonus (reward stream)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef')]),
}
TEST = 'test/rl/constrained-bandit.test.ts'
CRITIC_FREE = {name for name in FLIPS if name.startswith(('group', 'leave-one-out', 'k3', 'grpo', 'critic-free', 'rloo'))}


def run(name):
    path, subs = FLIPS[name]
    file = Path(path)
    original = file.read_text()
    flipped = original
    for old, new in subs:
        if flipped.count(old) != 1:
            return f'pattern not found once in {path}: {old!r} (the code moved; update this script)'
        flipped = flipped.replace(old, new)
    try:
        file.write_text(flipped)
        with tempfile.NamedTemporaryFile(suffix='.json') as report:
            test = 'test/rl/critic-free-bandit.test.ts' if name in CRITIC_FREE else TEST
            subprocess.run(['npx', 'vitest', 'run', test, '--reporter=json', f'--outputFile={report.name}'], capture_output=True, text=True)
            results = json.loads(Path(report.name).read_text())
    finally:
        file.write_text(original)
    failed = [t['title'] for f in results['testResults'] for t in f['assertionResults'] if t['status'] != 'passed']
    return failed


names = sys.argv[1:] or list(FLIPS)
uncaught = []
for name in names:
    out = run(name)
    if isinstance(out, str):
        print(f'{name}: {out}', flush=True)
        uncaught.append(name)
        continue
    print(f'{name}: {"CAUGHT by" if out else "NOT CAUGHT"}', flush=True)
    for title in out:
        print(f'    {title}', flush=True)
    if not out:
        uncaught.append(name)
sys.exit(1 if uncaught else 0)
