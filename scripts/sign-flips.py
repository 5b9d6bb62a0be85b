"""Mutation check of the RL loop: applies each known sign flip to src/ alone, runs the bandit tests, reverts.

Run from the repository root: python3 scripts/sign-flips.py [flip ...]   (about 30 s per RL flip on one core)
Prints, per flip, which tests of its test file (test/rl/constrained-bandit.test.ts unless the flip names
another) failed; every flip must fail at least one.
A flip whose source pattern is no longer found (the code moved) is reported, not silently skipped.
The source file is always restored, also on Ctrl-C.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# name -> (file, [(original text, flipped text), ...][, test file])
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
    'ppo clip inverted (range swapped)': ('src/losses/ppo.ts', [('ratio.clamp(1 - clip, 1 + clip)', 'ratio.clamp(1 + clip, 1 - clip)')]),
    'A_r + lambda*A_c': ('src/rl/advantage.ts', [('.sub(costAdvantages.mul(w))', '.add(costAdvantages.mul(w))')]),
    'cost label sign (safe = +1)': ('src/losses/cost.ts', [('return isSafe.float().mul(-2).add(1);', 'return isSafe.float().mul(2).sub(1);')], 'test/losses/cost-labels.test.ts'),
    'score labels inverted (safe read as unsafe)': ('src/algorithms/score/items.ts', [("return tensor(items.map((it) => (it.isSafe[slot] ? 1 : 0)), { dtype: 'bool' });", "return tensor(items.map((it) => (it.isSafe[slot] ? 0 : 1)), { dtype: 'bool' });")], 'test/cli/train-data.test.ts'),
    'cost label term ascended': ('src/losses/cost.ts', [('return sign.mul(costs).logsigmoid().mean().neg();', 'return sign.mul(costs).logsigmoid().mean();')], 'test/losses/cost-labels.test.ts'),
}
TEST = 'test/rl/constrained-bandit.test.ts'


def run(name):
    path, subs, *test = FLIPS[name]
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
            subprocess.run(['npx', 'vitest', 'run', test[0] if test else TEST, '--reporter=json', f'--outputFile={report.name}'], capture_output=True, text=True)
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
