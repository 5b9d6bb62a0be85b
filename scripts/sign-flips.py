"""Mutation check of the RL loop and the evaluation: applies each known sign flip to src/ alone, runs the tests that must catch it, reverts.

Run from the repository root: python3 scripts/sign-flips.py [flip ...]   (about 30 s per flip on one core)
Prints, per flip, which tests failed (test/rl/constrained-bandit.test.ts, or the flip's own test file); every flip must fail at least one.
A flip whose source pattern is no longer found (the code moved) is reported, not silently skipped.
The source file is always restored, also on Ctrl-C.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# name -> (file, [(original text, flipped text), ...][, test file; default TEST])
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
    'arena: higher cost wins': ('src/eval/arena.ts', [("(better === 'higher' ? a > b : a < b)", "(better === 'higher' ? a > b : a > b)")], 'test/eval/arena.test.ts'),
    'eval scorer keeps the response start': ('src/eval/model-responses.ts', [("scorer.maxLength, 'response-end')", "scorer.maxLength, 'response-start')")], 'test/eval/model-responses.test.ts'),
    'arena: lower reward wins': ('src/eval/arena.ts', [("(better === 'higher' ? a > b : a < b)", "(better === 'higher' ? a < b : a < b)")], 'test/eval/arena.test.ts'),
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
            subprocess.run(['npx', 'vitest', 'run', *(test or [TEST]), '--reporter=json', f'--outputFile={report.name}'], capture_output=True, text=True)
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
