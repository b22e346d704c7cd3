"""
An independent float64 numpy reference for the Llama-shaped decoders Scion reads, written from
the semantics of transformers' modeling_llama.py, modeling_gemma.py, modeling_gemma3.py (text),
modeling_olmo.py and modeling_olmo2.py (not from Scion's TypeScript, not from transformers' code): used by
test/engine/gemma-olmo.test.ts where transformers is not installed. Its shared parts (RoPE,
grouped KV heads, causal softmax attention, SwiGLU, RMSNorm) are checked against the stored
transformers Llama probe logits by the same test before any family is compared with it.

    python3 decoder_reference.py MODEL_DIR IDS_FILE OUT_FILE
      IDS_FILE: int32 little-endian [B, T] with B and T in the first two int32s
      OUT_FILE: float32 logits [B, T, V], little-endian
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', f'{name}: {info["dtype"]} (the reference reads F32 only)'
        a, b = info['data_offsets']
        out[name] = np.frombuffer(body[a:b], dtype='<f4').reshape(info['shape']).astype(np.float64)
    return out


def rms_norm(x, gain, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * gain


def plain_layer_norm(x, eps=1e-5):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def rope(x, theta):
    """x [T, H, hd]: each head's first and second halves rotated as pairs (j, j + hd/2) by pos * theta^(-2j/hd)."""
    t, _, hd = x.shape
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.arange(t)[:, None] * inv[None, :]  # [T, hd/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., : hd // 2], x[..., hd // 2:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def forward(cfg, w, ids):
    family = cfg['model_type']
    gemma = family in ('gemma', 'gemma3_text')
    d, heads = cfg['hidden_size'], cfg['num_attention_heads']
    kv = cfg.get('num_key_value_heads') or heads
    default_hd = 256 if gemma else d // heads
    hd = cfg.get('head_dim') or default_hd
    eps = cfg.get('rms_norm_eps', 1e-6 if gemma else 1e-5)
    theta = cfg.get('rope_theta') or (cfg.get('rope_parameters') or {}).get('rope_theta', 10000.0)
    tied = cfg.get('tie_word_embeddings', gemma)
    clip = cfg.get('clip_qkv') if family == 'olmo' else None
    scale = 1 / np.sqrt(cfg.get('query_pre_attn_scalar', 256) if family == 'gemma3_text' else hd)
    n_layers = cfg['num_hidden_layers']
    sliding = [t == 'sliding_attention' for t in cfg['layer_types']] if family == 'gemma3_text' else [False] * n_layers

    def norm(x, name):
        if family == 'olmo':
            return plain_layer_norm(x)
        g = w[name]
        return rms_norm(x, 1 + g if gemma else g, eps)

    x = w['model.embed_tokens.weight'][ids]  # [T, D]
    if gemma:
        x = x * float(np.float32(d ** 0.5))
    t = len(ids)
    pos = np.arange(t)
    for i in range(n_layers):
        p = f'model.layers.{i}.'
        future = pos[None, :] > pos[:, None]
        if sliding[i]:
            future = future | (pos[None, :] <= pos[:, None] - cfg['sliding_window'])
        th = cfg['rope_local_base_freq'] if sliding[i] else theta
        h = x if family == 'olmo2' else norm(x, p + 'input_layernorm.weight')
        q = h @ w[p + 'self_attn.q_proj.weight'].T
        k = h @ w[p + 'self_attn.k_proj.weight'].T
        v = h @ w[p + 'self_attn.v_proj.weight'].T
        if clip is not None:
            q, k, v = (np.clip(z, -clip, clip) for z in (q, k, v))
        if family == 'olmo2':
            q = rms_norm(q, w[p + 'self_attn.q_norm.weight'], eps)
            k = rms_norm(k, w[p + 'self_attn.k_norm.weight'], eps)
        q, k, v = q.reshape(t, heads, hd), k.reshape(t, kv, hd), v.reshape(t, kv, hd)
        if family == 'gemma3_text':
            q = rms_norm(q, 1 + w[p + 'self_attn.q_norm.weight'], eps)
            k = rms_norm(k, 1 + w[p + 'self_attn.k_norm.weight'], eps)
        q, k = rope(q, th), rope(k, th)
        group = heads // kv
        out = np.zeros((t, heads, hd))
        for hh in range(heads):
            s = q[:, hh, :] @ k[:, hh // group, :].T * scale  # [T, T]
            s[future] = -np.inf
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            out[:, hh, :] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, hh // group, :]
        a = out.reshape(t, heads * hd) @ w[p + 'self_attn.o_proj.weight'].T
        after = family in ('olmo2', 'gemma3_text')  # the sublayer outputs are normed before the residual add
        x = x + (norm(a, p + 'post_attention_layernorm.weight') if after else a)
        if family == 'olmo2':
            h = x
        else:
            h = norm(x, p + ('pre_feedforward_layernorm.weight' if family == 'gemma3_text' else 'post_attention_layernorm.weight'))
        act = gelu_tanh if gemma else silu
        m = (act(h @ w[p + 'mlp.gate_proj.weight'].T) * (h @ w[p + 'mlp.up_proj.weight'].T)) @ w[p + 'mlp.down_proj.weight'].T
        x = x + (norm(m, p + 'post_feedforward_layernorm.weight') if after else m)
    x = norm(x, 'model.norm.weight')
    head = w['model.embed_tokens.weight'] if tied else w['lm_head.weight']
    return x @ head.T


def main():
    model_dir, ids_file, out_file = sys.argv[1:4]
    cfg = json.load(open(f'{model_dir}/config.json'))
    w = read_safetensors(f'{model_dir}/model.safetensors')
    raw = np.fromfile(ids_file, dtype='<i4')
    b, t = int(raw[0]), int(raw[1])
    ids = raw[2:].reshape(b, t)
    logits = np.stack([forward(cfg, w, row) for row in ids])
    logits.astype('<f4').tofile(out_file)


if __name__ == '__main__':
    main()
