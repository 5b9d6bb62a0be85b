"""Tiny GPT-2 and Llama models in plain PyTorch following Hugging Face's modeling semantics and parameter
names, saved as HF folders, with logits and greedy continuations for test/models.

Run: /usr/bin/python3 reference/models.py
Writes reference/golden/tiny-gpt2/, reference/golden/tiny-llama/ (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json) and reference/golden/models.json.
Position ids follow HF generate: cumsum(attention_mask) - 1 (pads at 0); masked scores use -1e9.
"""
import json
import math
import struct
from pathlib import Path

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
OUT = Path(__file__).parent / "golden"
V = 40


def write_safetensors(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().float()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def tokenizer_files(d):
    words = [f"w{i}" for i in range(V - 4)]
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, **{w: i + 4 for i, w in enumerate(words)}}
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                            for c, i in list(vocab.items())[:4]],
           "normalizer": None, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}}
    (d / "tokenizer.json").write_text(json.dumps(tok))
    (d / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>", "eos_token": "<eos>", "bos_token": "<bos>", "unk_token": "<unk>"}))


def bias_mask(mask, lq):
    B, lk = mask.shape
    past = lk - lq
    causal = torch.arange(lk)[None, :] <= (torch.arange(lq)[:, None] + past)
    allowed = causal[None, None] & (mask[:, None, None, :] > 0)
    return (~allowed).float() * -1e9


def positions(mask):
    return (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)


def attend(q, k, v, bias):
    B, H, L, hd = q.shape
    if k.shape[1] != H:
        rep = H // k.shape[1]
        k = k.repeat_interleave(rep, 1)
        v = v.repeat_interleave(rep, 1)
    s = q @ k.transpose(2, 3) / math.sqrt(hd) + bias
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(B, L, H * hd)


# ---------------- GPT-2 ----------------
g_cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 16, "n_layer": 2, "n_head": 2, "n_positions": 32,
         "vocab_size": V, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "tie_word_embeddings": True,
         "bos_token_id": 2, "eos_token_id": 1}


def gpt2_params(c):
    D = c["n_embd"]
    p = {"transformer.wte.weight": torch.randn(V, D) * 0.2, "transformer.wpe.weight": torch.randn(c["n_positions"], D) * 0.1,
         "transformer.ln_f.weight": 1 + 0.1 * torch.randn(D), "transformer.ln_f.bias": 0.1 * torch.randn(D)}
    for i in range(c["n_layer"]):
        pre = f"transformer.h.{i}."
        p.update({pre + "ln_1.weight": 1 + 0.1 * torch.randn(D), pre + "ln_1.bias": 0.1 * torch.randn(D),
                  pre + "attn.c_attn.weight": torch.randn(D, 3 * D) * 0.2, pre + "attn.c_attn.bias": 0.1 * torch.randn(3 * D),
                  pre + "attn.c_proj.weight": torch.randn(D, D) * 0.2, pre + "attn.c_proj.bias": 0.1 * torch.randn(D),
                  pre + "ln_2.weight": 1 + 0.1 * torch.randn(D), pre + "ln_2.bias": 0.1 * torch.randn(D),
                  pre + "mlp.c_fc.weight": torch.randn(D, 4 * D) * 0.2, pre + "mlp.c_fc.bias": 0.1 * torch.randn(4 * D),
                  pre + "mlp.c_proj.weight": torch.randn(4 * D, D) * 0.2, pre + "mlp.c_proj.bias": 0.1 * torch.randn(D)})
    return p


def gpt2_forward(p, c, ids, mask, embeds=None):
    return gpt2_hidden(p, c, ids, mask, embeds) @ p["transformer.wte.weight"].T


def gpt2_hidden(p, c, ids, mask, embeds=None):
    """Final hidden states (B, L, D) after ln_f: what score-model heads read. `embeds` (B, L, D), when given, replaces the token lookup (HF inputs_embeds)."""
    D, H = c["n_embd"], c["n_head"]
    x = (p["transformer.wte.weight"][ids] if embeds is None else embeds) + p["transformer.wpe.weight"][positions(mask)]
    bias = bias_mask(mask, ids.shape[1])
    for i in range(c["n_layer"]):
        pre = f"transformer.h.{i}."
        h = F.layer_norm(x, (D,), p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], 1e-5)
        qkv = h @ p[pre + "attn.c_attn.weight"] + p[pre + "attn.c_attn.bias"]
        q, k, v = (t.view(*t.shape[:2], H, D // H).transpose(1, 2) for t in qkv.split(D, 2))
        x = x + attend(q, k, v, bias) @ p[pre + "attn.c_proj.weight"] + p[pre + "attn.c_proj.bias"]
        h = F.layer_norm(x, (D,), p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], 1e-5)
        x = x + F.gelu(h @ p[pre + "mlp.c_fc.weight"] + p[pre + "mlp.c_fc.bias"], approximate="tanh") @ p[pre + "mlp.c_proj.weight"] + p[pre + "mlp.c_proj.bias"]
    return F.layer_norm(x, (D,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], 1e-5)


# ---------------- Llama (Qwen2-style biases, GQA) ----------------
l_cfg = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 64,
         "vocab_size": V, "tie_word_embeddings": False, "hidden_act": "silu", "bos_token_id": 2, "eos_token_id": 1}


def llama_params(c):
    D, I, H, KV = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = D // H
    p = {"model.embed_tokens.weight": torch.randn(V, D) * 0.3, "model.norm.weight": 1 + 0.1 * torch.randn(D), "lm_head.weight": torch.randn(V, D) * 0.3}
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        p.update({pre + "self_attn.q_proj.weight": torch.randn(H * hd, D) * 0.3, pre + "self_attn.q_proj.bias": 0.1 * torch.randn(H * hd),
                  pre + "self_attn.k_proj.weight": torch.randn(KV * hd, D) * 0.3, pre + "self_attn.k_proj.bias": 0.1 * torch.randn(KV * hd),
                  pre + "self_attn.v_proj.weight": torch.randn(KV * hd, D) * 0.3, pre + "self_attn.v_proj.bias": 0.1 * torch.randn(KV * hd),
                  pre + "self_attn.o_proj.weight": torch.randn(D, H * hd) * 0.3,
                  pre + "mlp.gate_proj.weight": torch.randn(I, D) * 0.3, pre + "mlp.up_proj.weight": torch.randn(I, D) * 0.3,
                  pre + "mlp.down_proj.weight": torch.randn(D, I) * 0.3,
                  pre + "input_layernorm.weight": 1 + 0.1 * torch.randn(D), pre + "post_attention_layernorm.weight": 1 + 0.1 * torch.randn(D)})
    return p


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def llama_forward(p, c, ids, mask, embeds=None):
    D, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = D // H
    pos = positions(mask).float()
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
    f = pos[..., None] * inv
    emb = torch.cat([f, f], -1)[:, None]
    cos, sin = emb.cos(), emb.sin()
    bias = bias_mask(mask, ids.shape[1])
    x = p["model.embed_tokens.weight"][ids] if embeds is None else embeds
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        h = rms(x, p[pre + "input_layernorm.weight"], c["rms_norm_eps"])
        lin = lambda n: F.linear(h, p[pre + f"self_attn.{n}_proj.weight"], p.get(pre + f"self_attn.{n}_proj.bias"))
        q = lin("q").view(*h.shape[:2], H, hd).transpose(1, 2)
        k = lin("k").view(*h.shape[:2], KV, hd).transpose(1, 2)
        v = lin("v").view(*h.shape[:2], KV, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        x = x + F.linear(attend(q, k, v, bias), p[pre + "self_attn.o_proj.weight"])
        h = rms(x, p[pre + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        x = x + F.linear(F.silu(F.linear(h, p[pre + "mlp.gate_proj.weight"])) * F.linear(h, p[pre + "mlp.up_proj.weight"]), p[pre + "mlp.down_proj.weight"])
    return F.linear(rms(x, p["model.norm.weight"], c["rms_norm_eps"]), p["lm_head.weight"])


def main():
    ids = torch.tensor([[0, 0, 5, 9, 13, 7], [4, 8, 15, 16, 23, 12]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    result = {"inputIds": ids.tolist(), "attentionMask": mask.tolist()}
    for name, cfg, make, fwd in [("tiny-gpt2", g_cfg, gpt2_params, gpt2_forward), ("tiny-llama", l_cfg, llama_params, llama_forward)]:
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        params = make(cfg)
        (d / "config.json").write_text(json.dumps(cfg, indent=1))
        write_safetensors(d / "model.safetensors", params)
        tokenizer_files(d)
        with torch.no_grad():
            logits = fwd(params, cfg, ids, mask)
            seq, m = ids.clone(), mask.clone()
            for _ in range(6):  # greedy continuation, full recomputation each step
                nxt = fwd(params, cfg, seq, m)[:, -1].argmax(-1, keepdim=True)
                seq = torch.cat([seq, nxt], 1)
                m = torch.cat([m, torch.ones_like(nxt)], 1)
        # gradient of a masked LM loss w.r.t. a few parameters
        ps = {k: v.clone().requires_grad_() for k, v in params.items()}
        lg = fwd(ps, cfg, ids, mask)
        loss = F.cross_entropy(lg[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none")
        w = mask[:, 1:].reshape(-1).float()
        loss = (loss * w).sum() / w.sum()
        names = sorted(ps)[:3] + sorted(ps)[-2:]
        gs = torch.autograd.grad(loss, [ps[n] for n in names])
        result[name] = {"logits": logits.tolist(), "greedy": seq[:, ids.shape[1]:].tolist(), "loss": loss.item(),
                        "grads": {n: g.flatten().tolist() for n, g in zip(names, gs)}}
    (OUT / "models.json").write_text(json.dumps(result))
    print("wrote tiny-gpt2, tiny-llama, models.json")


if __name__ == "__main__":  # importable (reference/rl_step.py reuses the GPT-2 forward)
    main()
