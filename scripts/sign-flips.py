"""Mutation check of the RL loop, the losses and the evaluation: applies each known sign flip to src/ alone, runs the tests that must catch it, reverts.

Run from the repository root: python3 scripts/sign-flips.py [flip ...]   (about 30 s per flip on one core)
Prints, per flip, which tests failed (test/rl/constrained-bandit.test.ts, or the flip's own test file); every flip must fail at least one.
A flip whose source pattern is no longer found (the code moved) is reported, not silently skipped; the test suite checks the
patterns too (test/scripts/sign-flips.test.ts). Add a flip to scripts/sign-flips.json.
The source file is always restored, also on Ctrl-C.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# The flips live in scripts/sign-flips.json (sections of {name, file, edits: [[original text, flipped text], ...], test?});
# test/scripts/sign-flips.test.ts checks in the suite that every original text is still found once in its file.
SPEC = json.loads((Path(__file__).parent / 'sign-flips.json').read_text())
FLIPS = {f['name']: (f['file'], [tuple(e) for e in f['edits']], *([f['test']] if 'test' in f else [])) for s in SPEC['sections'] for f in s['flips']}
TEST = SPEC['defaultTest']


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
