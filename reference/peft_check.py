"""Checks with the real Hugging Face stack that safealign's LoRA adapters are what peft expects.

Needs transformers and peft (not Debian packages; e.g. a venv: python3 -m venv env && env/bin/pip install torch transformers peft).
Run: env/bin/python reference/peft_check.py --base DIR --adapter DIR [--merged DIR] [--golden gpt2|llama]
Loads --base with transformers' AutoModelForCausalLM and --adapter with peft's PeftModel.from_pretrained, and compares
its logits on the inputs of reference/golden/models.json (positions from the attention mask, as safealign's) with
  --merged: the same inputs through the merged folder safealign wrote (`model merge-lora`, or <out> of a LoRA run);
  --golden: the logits reference/lora.py computed for its adapter on reference/golden/tiny-gpt2 or tiny-llama.
Prints the largest absolute difference at non-pad positions and exits 1 when it exceeds 1e-4.
"""
import argparse
import json
import sys
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--base", required=True)
ap.add_argument("--adapter", required=True)
ap.add_argument("--merged")
ap.add_argument("--golden", choices=["gpt2", "llama"])
args = ap.parse_args()
GOLDEN = Path(__file__).parent / "golden"
inputs = json.loads((GOLDEN / "models.json").read_text())
ids, mask = torch.tensor(inputs["inputIds"]), torch.tensor(inputs["attentionMask"])
pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)


def logits(model):
    with torch.no_grad():
        return model.eval()(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()


peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32), args.adapter)
ours = logits(peft_model)
valid = mask.bool()
worst = 0.0
if args.merged:
    d = (ours - logits(AutoModelForCausalLM.from_pretrained(args.merged, dtype=torch.float32)))[valid].abs().max().item()
    print(f"peft(base + adapter) vs merged folder: max |diff| {d:.2e}")
    worst = max(worst, d)
if args.golden:
    ref = torch.tensor(json.loads((GOLDEN / "lora.json").read_text())[args.golden]["logits"])
    d = (ours - ref)[valid].abs().max().item()
    print(f"peft(base + adapter) vs reference/lora.py: max |diff| {d:.2e}")
    worst = max(worst, d)
sys.exit(0 if worst <= 1e-4 else 1)
