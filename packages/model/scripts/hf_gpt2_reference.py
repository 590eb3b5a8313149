"""
GPT-2 forward pass written from Hugging Face's modeling_gpt2 (GPT2LMHeadModel, eval mode) in
numpy, reading a checkpoint folder the way `from_pretrained` does: config.json fields and
model.safetensors tensors by their Hugging Face names. Conv1D weights are [in, out] (x @ W + b),
lm_head is an untied nn.Linear [out, in] (x @ W.T), activation gelu_new, causal attention with
scores scaled by 1/sqrt(head size).

usage: python3 hf_gpt2_reference.py CHECKPOINT_DIR TOKEN_IDS_JSON  → logits as JSON [T][V]
"""
import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n :]
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", name
        begin, end = e["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(e["shape"]).astype(np.float64)
    return out


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def forward(cfg, p, ids):
    T = len(ids)
    C, H = cfg["n_embd"], cfg["n_head"]
    hs = C // H
    eps = cfg["layer_norm_epsilon"]
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][np.arange(T)]
    mask = np.tril(np.ones((T, T), dtype=bool))
    for i in range(cfg["n_layer"]):
        g = lambda name: p[f"transformer.h.{i}.{name}"]
        h = layer_norm(x, g("ln_1.weight"), g("ln_1.bias"), eps)
        qkv = h @ g("attn.c_attn.weight") + g("attn.c_attn.bias")
        q, k, v = np.split(qkv, 3, axis=-1)
        q, k, v = (a.reshape(T, H, hs).transpose(1, 0, 2) for a in (q, k, v))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hs)
        s = np.where(mask, s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        a = a.transpose(1, 0, 2).reshape(T, C)
        x = x + a @ g("attn.c_proj.weight") + g("attn.c_proj.bias")
        h = layer_norm(x, g("ln_2.weight"), g("ln_2.bias"), eps)
        m = gelu_new(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias"))
        x = x + m @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
    x = layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    return x @ p["lm_head.weight"].T


if __name__ == "__main__":
    folder, ids = sys.argv[1], json.loads(sys.argv[2])
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    assert cfg["model_type"] == "gpt2" and cfg["activation_function"] == "gelu_new"
    assert cfg.get("n_inner") in (None, 4 * cfg["n_embd"])
    print(json.dumps(forward(cfg, load_safetensors(f"{folder}/model.safetensors"), np.array(ids)).tolist()))
