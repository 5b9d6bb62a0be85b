"""Tiny CLIP and SigLIP vision towers and LLaVA-style image + text models in plain PyTorch, following Hugging Face's
modeling_clip / modeling_siglip / modeling_llava semantics and parameter names (no transformers package needed).

Run: /usr/bin/python3 reference/vision.py
Writes reference/golden/tiny-clip-vision/ and tiny-siglip-vision/ (HF CLIPVisionModel / SiglipVisionModel folders: config.json,
model.safetensors), reference/golden/vision.json (their outputs and the gradients of a scalar of them, for test/models/vision.test.ts),
reference/golden/tiny-llava-gpt2/ (CLIP tower + GPT-2) and reference/golden/tiny-llava-qwen2/ (SigLIP tower + Qwen2), each an
HF LLaVA folder (config.json with vision_config and text_config, model.safetensors, preprocessor_config.json, tokenizer), and
reference/golden/llava.json (their logits and LM-loss gradients, and, with a score_head on the same weights, a multimodal
reward model's scores and Bradley-Terry gradients, for test/models/llava.test.ts).

Semantics followed:
- patch embedding: Conv2d(kernel = stride = patch_size), CLIP without bias, SigLIP with; flatten(2).transpose(1, 2).
- CLIP: a class token first, position embeddings over patches + 1, `pre_layrnorm`; pooler_output = post_layernorm(h[:, 0]).
- SigLIP: no class token, no pre-norm; last_hidden_state = post_layernorm(h) (the attention-pooling head is not modelled).
- encoder layer: x + out_proj(attn(layer_norm1(x))), then x + fc2(act(fc1(layer_norm2(x)))); attention is not causal,
  q scaled by head_dim^-0.5.
- LLaVA: features = hidden_states[vision_feature_layer] (hidden_states[0] is the embedding output), minus the class token
  for strategy "default"; projector linear_2(act(linear_1(f))); the processor has already repeated the image token once per
  feature row, and the model writes the rows, in order, over those positions of the token embeddings (masked_scatter).
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from models import V, attend, gpt2_forward, gpt2_hidden, llama_forward, tokenizer_files, write_safetensors

torch.manual_seed(1)
torch.set_num_threads(1)
OUT = Path(__file__).parent / "golden"

ACT = {"quick_gelu": lambda x: x * torch.sigmoid(1.702 * x), "gelu": F.gelu, "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}

clip_cfg = {"model_type": "clip_vision_model", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_channels": 3, "image_size": 8, "patch_size": 4, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
siglip_cfg = {"model_type": "siglip_vision_model", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_channels": 3, "image_size": 8, "patch_size": 4, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6, "vision_use_head": False}


def is_clip(c):
    return c["model_type"] == "clip_vision_model"


def vision_params(c, pre="vision_model."):
    D, I, C, P = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    n = (c["image_size"] // P) ** 2 + (1 if is_clip(c) else 0)
    ln = lambda name: {pre + name + ".weight": 1 + 0.1 * torch.randn(D), pre + name + ".bias": 0.1 * torch.randn(D)}
    p = {pre + "embeddings.patch_embedding.weight": torch.randn(D, C, P, P) * 0.2, pre + "embeddings.position_embedding.weight": torch.randn(n, D) * 0.3}
    if is_clip(c):
        p[pre + "embeddings.class_embedding"] = torch.randn(D) * 0.5
        p.update(ln("pre_layrnorm"))
    else:
        p[pre + "embeddings.patch_embedding.bias"] = 0.1 * torch.randn(D)
    for i in range(c["num_hidden_layers"]):
        lp = f"encoder.layers.{i}."
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            p[pre + lp + f"self_attn.{proj}.weight"] = torch.randn(D, D) * 0.3
            p[pre + lp + f"self_attn.{proj}.bias"] = 0.1 * torch.randn(D)
        p.update(ln(lp + "layer_norm1"))
        p.update(ln(lp + "layer_norm2"))
        p.update({pre + lp + "mlp.fc1.weight": torch.randn(I, D) * 0.3, pre + lp + "mlp.fc1.bias": 0.1 * torch.randn(I),
                  pre + lp + "mlp.fc2.weight": torch.randn(D, I) * 0.3, pre + lp + "mlp.fc2.bias": 0.1 * torch.randn(D)})
    p.update(ln("post_layernorm"))
    return p


def vision_hidden_states(p, c, pixels, pre="vision_model."):
    """hidden_states: the embedding output, then each encoder layer's output, each (B, N, D)."""
    D, H, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    B = pixels.shape[0]
    x = F.conv2d(pixels, p[pre + "embeddings.patch_embedding.weight"], p.get(pre + "embeddings.patch_embedding.bias"), stride=c["patch_size"])
    x = x.flatten(2).transpose(1, 2)
    if is_clip(c):
        x = torch.cat([p[pre + "embeddings.class_embedding"].expand(B, 1, D), x], 1)
    x = x + p[pre + "embeddings.position_embedding.weight"][torch.arange(x.shape[1])]
    lnorm = lambda t, name: F.layer_norm(t, (D,), p[pre + name + ".weight"], p[pre + name + ".bias"], eps)
    if is_clip(c):
        x = lnorm(x, "pre_layrnorm")
    hs = [x]
    no_mask = torch.zeros(1, 1, 1, 1)
    for i in range(c["num_hidden_layers"]):
        lp = f"encoder.layers.{i}."
        lin = lambda t, n: F.linear(t, p[pre + lp + n + ".weight"], p[pre + lp + n + ".bias"])
        h = lnorm(x, lp + "layer_norm1")
        heads = lambda t: t.view(B, -1, H, D // H).transpose(1, 2)
        q = heads(lin(h, "self_attn.q_proj"))
        x = x + lin(attend(q, heads(lin(h, "self_attn.k_proj")), heads(lin(h, "self_attn.v_proj")), no_mask), "self_attn.out_proj")
        x = x + lin(ACT[c["hidden_act"]](lin(lnorm(x, lp + "layer_norm2"), "mlp.fc1")), "mlp.fc2")
        hs.append(x)
    return hs


def vision_outputs(p, c, pixels, pre="vision_model."):
    """(last_hidden_state, pooler_output or None) as CLIPVisionModel / SiglipVisionModel(vision_use_head=False) return them."""
    D, eps = c["hidden_size"], c["layer_norm_eps"]
    last = vision_hidden_states(p, c, pixels, pre)[-1]
    post = lambda t: F.layer_norm(t, (D,), p[pre + "post_layernorm.weight"], p[pre + "post_layernorm.bias"], eps)
    return (last, post(last[:, 0])) if is_clip(c) else (post(last), None)


def tower_golden(name, c):
    params = vision_params(c)
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    arch = "CLIPVisionModel" if is_clip(c) else "SiglipVisionModel"
    (d / "config.json").write_text(json.dumps({**c, "architectures": [arch]}, indent=1))
    write_safetensors(d / "model.safetensors", params)
    pixels = torch.randn(2, c["num_channels"], c["image_size"], c["image_size"])
    ps = {k: v.clone().requires_grad_() for k, v in params.items()}
    px = pixels.clone().requires_grad_()
    last, pooled = vision_outputs(ps, c, px)
    w_last = torch.randn(last.shape)
    scalar = (last * w_last).sum()
    w_pooled = None
    if pooled is not None:
        w_pooled = torch.randn(pooled.shape)
        scalar = scalar + (pooled * w_pooled).sum()
    names = sorted(ps)
    gs = torch.autograd.grad(scalar, [ps[n] for n in names] + [px])
    out = {"pixels": pixels.tolist(), "lastHidden": last.tolist(), "weightLast": w_last.tolist(), "scalar": scalar.item(),
           "grads": {n: g.flatten().tolist() for n, g in zip(names, gs)}, "pixelGrad": gs[-1].tolist()}
    if pooled is not None:
        out.update({"pooled": pooled.tolist(), "weightPooled": w_pooled.tolist()})
    return out


# ---------------- LLaVA ----------------
IMAGE_TOKEN = V  # "<image>", one past the word vocabulary


def llava_tokenizer(d):
    tokenizer_files(d)
    tok = json.loads((d / "tokenizer.json").read_text())
    tok["model"]["vocab"]["<image>"] = IMAGE_TOKEN
    tok["added_tokens"].append({"id": IMAGE_TOKEN, "content": "<image>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True})
    (d / "tokenizer.json").write_text(json.dumps(tok))


def text_params(cfg):
    """The text model's parameters from reference/models.py's recipe, for a vocabulary one larger (the image token)."""
    from models import gpt2_params, llama_params
    import models
    models.V = cfg["vocab_size"]
    try:
        return gpt2_params(cfg) if cfg["model_type"] == "gpt2" else llama_params(cfg)
    finally:
        models.V = V


def llava_embeds(p, cfg, ids, pixels):
    """Token embeddings (B, L, D) with the projected image features written over the image tokens, and the text params."""
    vc, tc = cfg["vision_config"], cfg["text_config"]
    hs = vision_hidden_states(p, vc, pixels, "vision_tower.vision_model.")
    feats = hs[cfg["vision_feature_layer"]]
    if cfg["vision_feature_select_strategy"] == "default":
        feats = feats[:, 1:]
    lin = lambda t, n: F.linear(t, p[f"multi_modal_projector.{n}.weight"], p[f"multi_modal_projector.{n}.bias"])
    feats = lin(ACT[cfg["projector_hidden_act"]](lin(feats, "linear_1")), "linear_2")
    text = {k[len("language_model."):]: v for k, v in p.items() if k.startswith("language_model.")}
    table = text["transformer.wte.weight" if tc["model_type"] == "gpt2" else "model.embed_tokens.weight"]
    is_image = ids == cfg["image_token_index"]
    embeds = table[ids.masked_fill(is_image, 0)]
    return embeds.masked_scatter(is_image[..., None].expand_as(embeds), feats.reshape(-1, feats.shape[-1])), text


def llava_forward(p, cfg, ids, mask, pixels):
    embeds, text = llava_embeds(p, cfg, ids, pixels)
    fwd = gpt2_forward if cfg["text_config"]["model_type"] == "gpt2" else llama_forward
    return fwd(text, cfg["text_config"], ids, mask, embeds)


def llava_scores(p, cfg, ids, mask, pixels):
    """A multimodal score model: the text backbone's final hidden states (B, L, D) through score_head -> per-token scores (B, L)."""
    embeds, text = llava_embeds(p, cfg, ids, pixels)
    tc = cfg["text_config"]
    if tc["model_type"] == "gpt2":
        hidden = gpt2_hidden(text, tc, ids, mask, embeds)
    else:  # llama_forward's LM head replaced by the identity gives the final hidden states
        hidden = llama_forward({**text, "lm_head.weight": torch.eye(tc["hidden_size"])}, tc, ids, mask, embeds)
    return F.linear(hidden, p["language_model.score_head.weight"], p["language_model.score_head.bias"]).squeeze(-1)


def llava_case(name, vc, tc, layer, strategy, processor):
    cfg = {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"], "image_token_index": IMAGE_TOKEN,
           "projector_hidden_act": "gelu", "vision_feature_layer": layer, "vision_feature_select_strategy": strategy,
           "vision_config": vc, "text_config": tc, "tie_word_embeddings": tc.get("tie_word_embeddings", False)}
    Dt = tc.get("n_embd", tc.get("hidden_size"))
    params = {("vision_tower." + k): v for k, v in vision_params(vc).items()}
    params.update({"language_model." + k: v for k, v in text_params(tc).items()})
    params.update({"multi_modal_projector.linear_1.weight": torch.randn(Dt, vc["hidden_size"]) * 0.3, "multi_modal_projector.linear_1.bias": 0.1 * torch.randn(Dt),
                   "multi_modal_projector.linear_2.weight": torch.randn(Dt, Dt) * 0.3, "multi_modal_projector.linear_2.bias": 0.1 * torch.randn(Dt)})
    n_img = (vc["image_size"] // vc["patch_size"]) ** 2 + (1 if is_clip(vc) and strategy == "full" else 0)
    I = [IMAGE_TOKEN] * n_img
    ids = torch.tensor([[0, 0, 5] + I + [9, 13], [4] + I + [8, 15, 16, 12]])
    mask = (torch.arange(ids.shape[1]) >= torch.tensor([[2], [0]])).long()
    pixels = torch.randn(2, vc["num_channels"], vc["image_size"], vc["image_size"])
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg, indent=1))
    (d / "preprocessor_config.json").write_text(json.dumps(processor, indent=1))
    write_safetensors(d / "model.safetensors", params)
    llava_tokenizer(d)
    with torch.no_grad():
        logits = llava_forward(params, cfg, ids, mask, pixels)
    ps = {k: v.clone().requires_grad_() for k, v in params.items()}
    lg = llava_forward(ps, cfg, ids, mask, pixels)
    target = ids[:, 1:].masked_fill(ids[:, 1:] == IMAGE_TOKEN, -100)
    loss = F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), target.reshape(-1), reduction="none")
    w = (mask[:, 1:] * (target != -100)).reshape(-1).float()
    loss = (loss * w).sum() / w.sum()
    names = ["multi_modal_projector.linear_1.weight", "multi_modal_projector.linear_2.bias", "vision_tower.vision_model.embeddings.patch_embedding.weight",
             "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", sorted(k for k in ps if k.startswith("language_model."))[0]]
    gs = torch.autograd.grad(loss, [ps[n] for n in names])
    out = {"inputIds": ids.tolist(), "attentionMask": mask.tolist(), "pixels": pixels.tolist(), "logits": logits.tolist(), "loss": loss.item(),
           "grads": {n: g.flatten().tolist() for n, g in zip(names, gs)}}
    # a reward model on the same backbone: score_head (drawn after this case's other values) and the
    # Bradley-Terry loss of row 0 preferred over row 1 on the end scores (last non-pad token: the last position here)
    Dt = tc.get("n_embd", tc.get("hidden_size"))
    sp = {k: v for k, v in params.items() if not k.startswith("language_model.lm_head.")}
    sp.update({"language_model.score_head.weight": torch.randn(1, Dt) / Dt ** 0.5, "language_model.score_head.bias": 0.1 * torch.randn(1)})
    sps = {k: v.clone().requires_grad_() for k, v in sp.items()}
    scores = llava_scores(sps, cfg, ids, mask, pixels)
    end = scores[:, -1]
    bt = -F.logsigmoid(end[0] - end[1])
    score_names = ["language_model.score_head.weight", "language_model.score_head.bias", "multi_modal_projector.linear_1.weight",
                   "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight",
                   sorted(k for k in sps if k.startswith("language_model.") and "score_head" not in k)[0]]
    sg = torch.autograd.grad(bt, [sps[n] for n in score_names])
    with torch.no_grad():  # greedy continuation with the image, full recomputation each step (the new tokens are text)
        seq, m = ids.clone(), mask.clone()
        for _ in range(5):
            nxt = llava_forward(params, cfg, seq, m, pixels)[:, -1].argmax(-1, keepdim=True)
            seq, m = torch.cat([seq, nxt], 1), torch.cat([m, torch.ones_like(nxt)], 1)
    out["greedy"] = seq[:, ids.shape[1]:].tolist()
    out["score"] = {"head": {k: sp[k].flatten().tolist() for k in ["language_model.score_head.weight", "language_model.score_head.bias"]},
                    "scores": scores.tolist(), "endScores": end.tolist(), "loss": bt.item(),
                    "grads": {n: g.flatten().tolist() for n, g in zip(score_names, sg)}}
    return out


CLIP_PROCESSOR = {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": 8}, "resample": 3,
                  "do_center_crop": True, "crop_size": {"height": 8, "width": 8}, "do_rescale": True, "rescale_factor": 1 / 255,
                  "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
                  "do_convert_rgb": True}
SIGLIP_PROCESSOR = {"image_processor_type": "SiglipImageProcessor", "do_resize": True, "size": {"height": 8, "width": 8}, "resample": 3,
                    "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}


def main():
    towers = {"tiny-clip-vision": tower_golden("tiny-clip-vision", clip_cfg), "tiny-siglip-vision": tower_golden("tiny-siglip-vision", siglip_cfg)}
    (OUT / "vision.json").write_text(json.dumps(towers))
    g_text = {"model_type": "gpt2", "n_embd": 16, "n_layer": 2, "n_head": 2, "n_positions": 32, "vocab_size": V + 1, "layer_norm_epsilon": 1e-5,
              "activation_function": "gelu_new", "tie_word_embeddings": True, "bos_token_id": 2, "eos_token_id": 1}
    q_text = {"model_type": "qwen2", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 64, "vocab_size": V + 1, "tie_word_embeddings": False,
              "hidden_act": "silu", "bos_token_id": 2, "eos_token_id": 1}
    llava = {"tiny-llava-gpt2": llava_case("tiny-llava-gpt2", clip_cfg, g_text, -2, "default", CLIP_PROCESSOR),
             "tiny-llava-qwen2": llava_case("tiny-llava-qwen2", siglip_cfg, q_text, -1, "full", SIGLIP_PROCESSOR)}
    (OUT / "llava.json").write_text(json.dumps(llava))
    print("wrote tiny-clip-vision, tiny-siglip-vision, vision.json, tiny-llava-gpt2, tiny-llava-qwen2, llava.json")


if __name__ == "__main__":
    main()
