"""
Hand-built OPT and Phi-3 checkpoints with reference logits from a plain numpy forward (float64),
written from transformers' modeling_opt.py and modeling_phi3.py semantics (not from Scion's
TypeScript). A check that runs where transformers is not installed; the transformers-made
references are scripts/fixture_families.py's (test/engine/families-reference.test.ts).

    /usr/bin/python3 scripts/numpy_reference_families.py [--out test/fixtures/numpy-families]

Each folder: config.json as transformers names it, model.safetensors (float32, transformers'
tensor names), expected.safetensors with probe_input_ids int32 [2, 16] and probe_logits
float32 [2, 16, vocab]. Folders:

    opt-pre-tied          OPT pre-LN (125M-style): biases, LayerNorm gains, ReLU, tied head
    opt-post-proj         OPT post-LN (350M-style): word_embed_proj_dim 24 != hidden 32, so
                          project_in / project_out, no final LayerNorm, tied head
    opt-plain-untied      OPT pre-LN with enable_bias false, layer_norm_elementwise_affine
                          false, an untied lm_head and GELU
    phi3-gqa-partial-w6   Phi-3: fused qkv_proj (4 heads, 2 KV heads, head_dim 8), fused
                          gate_up_proj, partial_rotary_factor 0.5, sliding_window 6 (< 16),
                          untied head
    phi3-full-tied        Phi-3 with full rotary, sliding_window null and a tied head

Every weight is drawn (position rows 0 and 1 of OPT too, so reading them instead of 2..T+1
shows), norm gains 1 + N(0, 0.2^2), biases N(0, 0.1^2).
"""
import argparse
import json
import os
import struct

import numpy as np

T = 16
B = 2


def write_safetensors(path, tensors):
    """tensors: list of (name, array) in order; float32 or int32."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        dtype = {np.dtype('float32'): 'F32', np.dtype('int32'): 'I32'}[a.dtype]
        data = a.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def draw(rng, names_shapes, gain_names=(), bias_std=0.1):
    out = {}
    for name, shape in names_shapes:
        if name in gain_names:
            out[name] = 1 + 0.2 * rng.standard_normal(shape)
        elif len(shape) == 1:
            out[name] = bias_std * rng.standard_normal(shape)
        elif 'embed' in name:
            out[name] = rng.standard_normal(shape)
        else:
            out[name] = rng.standard_normal(shape) / np.sqrt(shape[1]) * 1.2
    return {k: v.astype(np.float32) for k, v in out.items()}


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def attention(q, k, v, allowed):
    """q [B, H, T, hd], k/v [B, H, T, hd] (KV already repeated), allowed [T, T] bool."""
    s = q @ np.swapaxes(k, -1, -2)
    s = np.where(allowed, s, -np.inf)
    return softmax(s) @ v


def heads(x, n, hd):
    b, t, _ = x.shape
    return x.reshape(b, t, n, hd).transpose(0, 2, 1, 3)


def merge(x):
    b, h, t, hd = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, t, h * hd)


def gelu_erf(x):
    from math import erf, sqrt

    return 0.5 * x * (1 + np.vectorize(erf)(x / sqrt(2)))


# ---------------------------------------------------------------- OPT


def opt_names(c):
    d, f, p = c['hidden_size'], c['ffn_dim'], c.get('word_embed_proj_dim') or c['hidden_size']
    bias, affine = c.get('enable_bias', True), c.get('layer_norm_elementwise_affine', True)
    out = [('model.decoder.embed_tokens.weight', (c['vocab_size'], p)), ('model.decoder.embed_positions.weight', (c['max_position_embeddings'] + 2, d))]
    if p != d:
        out.append(('model.decoder.project_in.weight', (d, p)))
        out.append(('model.decoder.project_out.weight', (p, d)))
    for i in range(c['num_hidden_layers']):
        l = f'model.decoder.layers.{i}.'
        for n, shape in [('self_attn.q_proj', (d, d)), ('self_attn.k_proj', (d, d)), ('self_attn.v_proj', (d, d)), ('self_attn.out_proj', (d, d)), ('fc1', (f, d)), ('fc2', (d, f))]:
            out.append((l + n + '.weight', shape))
            if bias:
                out.append((l + n + '.bias', (shape[0],)))
        if affine:
            for n in ['self_attn_layer_norm', 'final_layer_norm']:
                out += [(l + n + '.weight', (d,)), (l + n + '.bias', (d,))]
    if c.get('do_layer_norm_before', True) and affine:
        out += [('model.decoder.final_layer_norm.weight', (d,)), ('model.decoder.final_layer_norm.bias', (d,))]
    if not c.get('tie_word_embeddings', True):
        out.append(('lm_head.weight', (c['vocab_size'], p)))
    return out


def opt_forward(c, W, ids):
    W = {k: v.astype(np.float64) for k, v in W.items()}
    d, n = c['hidden_size'], c['num_attention_heads']
    hd = d // n
    p = c.get('word_embed_proj_dim') or d
    bias, affine, pre = c.get('enable_bias', True), c.get('layer_norm_elementwise_affine', True), c.get('do_layer_norm_before', True)
    act = {'relu': lambda x: np.maximum(x, 0), 'gelu': gelu_erf}[c.get('activation_function', 'relu')]

    def lin(x, name):
        y = x @ W[name + '.weight'].T
        return y + W[name + '.bias'] if bias else y

    def ln(x, name):
        return layer_norm(x, W[name + '.weight'], W[name + '.bias']) if affine else layer_norm(x, 1.0, 0.0)

    x = W['model.decoder.embed_tokens.weight'][ids]
    if p != d:
        x = x @ W['model.decoder.project_in.weight'].T
    mask = np.ones(ids.shape, dtype=np.int64)
    positions = np.cumsum(mask, axis=1) * mask - 1  # OPTLearnedPositionalEmbedding, then + offset 2
    x = x + W['model.decoder.embed_positions.weight'][positions + 2]
    allowed = np.tril(np.ones((T, T), dtype=bool))
    for i in range(c['num_hidden_layers']):
        l = f'model.decoder.layers.{i}.'
        res = x
        h = ln(x, l + 'self_attn_layer_norm') if pre else x
        q = heads(lin(h, l + 'self_attn.q_proj') * hd**-0.5, n, hd)
        k = heads(lin(h, l + 'self_attn.k_proj'), n, hd)
        v = heads(lin(h, l + 'self_attn.v_proj'), n, hd)
        x = res + lin(merge(attention(q, k, v, allowed)), l + 'self_attn.out_proj')
        if not pre:
            x = ln(x, l + 'self_attn_layer_norm')
        res = x
        h = ln(x, l + 'final_layer_norm') if pre else x
        x = res + lin(act(lin(h, l + 'fc1')), l + 'fc2')
        if not pre:
            x = ln(x, l + 'final_layer_norm')
    if pre:
        x = ln(x, 'model.decoder.final_layer_norm')
    if p != d:
        x = x @ W['model.decoder.project_out.weight'].T
    head = W['model.decoder.embed_tokens.weight'] if c.get('tie_word_embeddings', True) else W['lm_head.weight']
    return x @ head.T


def opt_config(**extra):
    c = dict(
        architectures=['OPTForCausalLM'], model_type='opt', vocab_size=96, hidden_size=32, ffn_dim=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=32, do_layer_norm_before=True, word_embed_proj_dim=32, activation_function='relu',
        enable_bias=True, layer_norm_elementwise_affine=True, tie_word_embeddings=True, dropout=0.1, attention_dropout=0.0,
        layerdrop=0.0, pad_token_id=1, bos_token_id=2, eos_token_id=2, _remove_final_layer_norm=False,
    )
    c.update(extra)
    return c


# ---------------------------------------------------------------- Phi-3


def phi3_names(c):
    d, f = c['hidden_size'], c['intermediate_size']
    hd = c.get('head_dim') or d // c['num_attention_heads']
    op = (c['num_attention_heads'] + 2 * c['num_key_value_heads']) * hd
    out = [('model.embed_tokens.weight', (c['vocab_size'], d))]
    for i in range(c['num_hidden_layers']):
        l = f'model.layers.{i}.'
        out += [
            (l + 'input_layernorm.weight', (d,)),
            (l + 'self_attn.qkv_proj.weight', (op, d)),
            (l + 'self_attn.o_proj.weight', (d, c['num_attention_heads'] * hd)),
            (l + 'post_attention_layernorm.weight', (d,)),
            (l + 'mlp.gate_up_proj.weight', (2 * f, d)),
            (l + 'mlp.down_proj.weight', (d, f)),
        ]
    out.append(('model.norm.weight', (d,)))
    if not c.get('tie_word_embeddings', False):
        out.append(('lm_head.weight', (c['vocab_size'], d)))
    return out


def phi3_forward(c, W, ids):
    W = {k: v.astype(np.float64) for k, v in W.items()}
    d, n, kv = c['hidden_size'], c['num_attention_heads'], c['num_key_value_heads']
    hd = c.get('head_dim') or d // n
    rd = int(hd * c.get('partial_rotary_factor', 1.0))
    eps = c['rms_norm_eps']
    window = c.get('sliding_window')

    def rms(x, w):
        return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * w

    # default RoPE over the first rd dims: inv_freq = 1 / theta^(2j / rd), cos/sin of cat(freqs, freqs)
    inv = 1.0 / (c['rope_theta'] ** (np.arange(0, rd, 2) / rd))
    freqs = np.arange(T)[:, None] * inv[None, :]
    emb = np.concatenate([freqs, freqs], -1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rope(x):
        xr, xp = x[..., :rd], x[..., rd:]
        half = rd // 2
        rotated = np.concatenate([-xr[..., half:], xr[..., :half]], -1)
        return np.concatenate([xr * cos + rotated * sin, xp], -1)

    i_idx, j_idx = np.arange(T)[:, None], np.arange(T)[None, :]
    allowed = j_idx <= i_idx
    if window is not None:
        allowed &= j_idx > i_idx - window  # masking_utils sliding_window_overlay
    x = W['model.embed_tokens.weight'][ids]
    for i in range(c['num_hidden_layers']):
        l = f'model.layers.{i}.'
        h = rms(x, W[l + 'input_layernorm.weight'])
        qkv = h @ W[l + 'self_attn.qkv_proj.weight'].T
        q = rope(heads(qkv[..., : n * hd], n, hd))
        k = rope(heads(qkv[..., n * hd : (n + kv) * hd], kv, hd))
        v = heads(qkv[..., (n + kv) * hd :], kv, hd)
        k, v = np.repeat(k, n // kv, axis=1), np.repeat(v, n // kv, axis=1)  # repeat_kv
        x = x + merge(attention(q * hd**-0.5, k, v, allowed)) @ W[l + 'self_attn.o_proj.weight'].T
        h = rms(x, W[l + 'post_attention_layernorm.weight'])
        gu = h @ W[l + 'mlp.gate_up_proj.weight'].T
        gate, up = gu[..., : c['intermediate_size']], gu[..., c['intermediate_size'] :]
        x = x + (up * gate / (1 + np.exp(-gate))) @ W[l + 'mlp.down_proj.weight'].T
    x = rms(x, W['model.norm.weight'])
    head = W['model.embed_tokens.weight'] if c.get('tie_word_embeddings', False) else W['lm_head.weight']
    return x @ head.T


def phi3_config(**extra):
    c = dict(
        architectures=['Phi3ForCausalLM'], model_type='phi3', vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32, original_max_position_embeddings=32, rms_norm_eps=1e-5,
        rope_theta=10000.0, rope_scaling=None, partial_rotary_factor=1.0, sliding_window=None, hidden_act='silu', tie_word_embeddings=False,
        resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0, bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    c.update(extra)
    return c


MODELS = [
    ('opt-pre-tied', opt_config(), opt_names, opt_forward),
    ('opt-post-proj', opt_config(do_layer_norm_before=False, word_embed_proj_dim=24), opt_names, opt_forward),
    ('opt-plain-untied', opt_config(enable_bias=False, layer_norm_elementwise_affine=False, tie_word_embeddings=False, activation_function='gelu'), opt_names, opt_forward),
    ('phi3-gqa-partial-w6', phi3_config(partial_rotary_factor=0.5, sliding_window=6), phi3_names, phi3_forward),
    ('phi3-full-tied', phi3_config(tie_word_embeddings=True), phi3_names, phi3_forward),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'numpy-families'))
    args = ap.parse_args()
    for seed, (name, config, names, fwd) in enumerate(MODELS):
        rng = np.random.default_rng(100 + seed)
        specs = names(config)
        gains = {n for n, s in specs if len(s) == 1 and (n.endswith('norm.weight') or n.endswith('layernorm.weight'))}
        W = draw(rng, specs, gains)
        ids = rng.integers(0, config['vocab_size'], size=(B, T)).astype(np.int32)
        logits = fwd(config, W, ids).astype(np.float32)
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'config.json'), 'w') as f:
            json.dump(config, f, indent=2)
            f.write('\n')
        write_safetensors(os.path.join(folder, 'model.safetensors'), [(n, W[n]) for n, _ in specs])
        write_safetensors(os.path.join(folder, 'expected.safetensors'), [('probe_input_ids', ids), ('probe_logits', logits)])
        print(f'{name}: {sum(w.size for w in W.values())} parameters, logits in [{logits.min():.2f}, {logits.max():.2f}]')


if __name__ == '__main__':
    main()
