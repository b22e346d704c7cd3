"""GPT-2 and Llama in plain PyTorch, for the hand-off trainer's `--impl torch` path.

`train.py` trains with Hugging Face `transformers` when it is installed (the default). This
file is the fallback for a machine that has PyTorch but not `transformers` (and for Scion's own
CI, which has Debian's PyTorch only): the two architectures Scion grows, with the parameter
names and layouts of `GPT2LMHeadModel` and `LlamaForCausalLM`, read from and written to the
same safetensors files. References: transformers' modeling_gpt2.py and modeling_llama.py;
karpathy/nanoGPT model.py for the reading order.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- safetensors, by the spec
_DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def read_safetensors(path):
    """All tensors of one safetensors file as {name: tensor} (8-byte header length, JSON, data)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {spec['dtype']}, which this reader does not know")
        a, b = spec["data_offsets"]
        buf = bytearray(raw[base + a : base + b])
        t = torch.frombuffer(buf, dtype=_DTYPES[spec["dtype"]]) if b > a else torch.empty(0, dtype=_DTYPES[spec["dtype"]])
        out[name] = t.reshape(spec["shape"]).clone()
    return out


def read_model_weights(model_dir):
    """Every tensor of a Hugging Face model folder (one file or an index of shards)."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for name in files:
        out.update(read_safetensors(os.path.join(model_dir, name)))
    return out


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as one safetensors file (names sorted, tensors made contiguous on the CPU)."""
    header, chunks, at = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    if metadata:
        header["__metadata__"] = metadata
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)


# ---------------------------------------------------------------- GPT-2
def _act(name):
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu
    if name == "relu":
        return F.relu
    if name in ("silu", "swish"):
        return F.silu
    raise ValueError(f"activation_function '{name}' is not supported by the plain-PyTorch path (use transformers)")


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored [in, out] (transposed from nn.Linear)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, inner = c["n_embd"], c.get("n_inner") or 4 * c["n_embd"]
        self.n_head, self.eps = c["n_head"], c.get("layer_norm_epsilon", 1e-5)
        self.ln_1 = nn.LayerNorm(d, eps=self.eps)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(d, 3 * d)
        self.attn.c_proj = Conv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=self.eps)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(d, inner)
        self.mlp.c_proj = Conv1D(inner, d)
        self.act = _act(c.get("activation_function", "gelu_new"))

    def forward(self, x):
        B, T, D = x.shape
        hd = D // self.n_head
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(D, dim=2)  # 3 x (B, T, D)
        q, k, v = (t.view(B, T, self.n_head, hd).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hd)
        y = _causal_attention(q, k, v)  # (B, nh, T, hd)
        x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp.c_proj(self.act(self.mlp.c_fc(self.ln_2(x))))


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        for field in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
            if c.get(field):
                raise ValueError(f"config.json: {field} is not supported by the plain-PyTorch path (use transformers)")
        if c.get("scale_attn_weights") is False:
            raise ValueError("config.json: scale_attn_weights false is not supported by the plain-PyTorch path")
        self.config = c
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.transformer.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.transformer.h = nn.ModuleList([GPT2Block(c) for _ in range(c["n_layer"])])
        self.transformer.ln_f = nn.LayerNorm(c["n_embd"], eps=c.get("layer_norm_epsilon", 1e-5))
        self.tied = c.get("tie_word_embeddings", True)
        if not self.tied:
            self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)

    def forward(self, ids):  # ids (B, T) -> logits (B, T, V)
        t = self.transformer
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = t.wte(ids) + t.wpe(pos)[None]
        for block in t.h:
            x = block(x)
        x = t.ln_f(x)
        return x @ (t.wte.weight if self.tied else self.lm_head.weight).T

    @staticmethod
    def canonical(name):
        return name if name.startswith("transformer.") or name == "lm_head.weight" else "transformer." + name

    @staticmethod
    def ignored(name):
        return name.endswith(".attn.bias") or name.endswith(".attn.masked_bias")


# ---------------------------------------------------------------- Llama
def _rope_inv_freq(c, head_dim):
    """RoPE inverse frequencies: default, or Llama 3 scaling (rope_type 'llama3')."""
    params = c.get("rope_scaling") or c.get("rope_parameters") or {}
    theta = params.get("rope_theta", c.get("rope_theta", 10000.0))
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    kind = params.get("rope_type", params.get("type", "default"))
    if kind == "default":
        return inv.float()
    if kind != "llama3":
        raise ValueError(f"config.json: rope_type '{kind}' is not supported by the plain-PyTorch path (use transformers)")
    factor, lo, hi = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
    old = params["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    out = torch.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    mid = (1 - smooth) * out / factor + smooth * out
    medium = (wavelen >= old / hi) & (wavelen <= old / lo)
    return torch.where(medium, mid, out).float()


def _rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def _causal_attention(q, k, v):  # (B, nh, T, hd) each -> (B, nh, T, hd)
    T, hd = q.shape[-2], q.shape[-1]
    att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)  # (B, nh, T, T)
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    return att @ v


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class LlamaBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["hidden_size"], c.get("rms_norm_eps", 1e-6)
        self.nh = c["num_attention_heads"]
        self.nkv = c.get("num_key_value_heads") or self.nh
        self.hd = c.get("head_dim") or d // self.nh
        bias, mlp_bias = c.get("attention_bias", False), c.get("mlp_bias", False)
        self.input_layernorm = RMSNorm(d, eps)
        self.self_attn = nn.Module()
        self.self_attn.q_proj = nn.Linear(d, self.nh * self.hd, bias=bias)
        self.self_attn.k_proj = nn.Linear(d, self.nkv * self.hd, bias=bias)
        self.self_attn.v_proj = nn.Linear(d, self.nkv * self.hd, bias=bias)
        self.self_attn.o_proj = nn.Linear(self.nh * self.hd, d, bias=bias)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, c["intermediate_size"], bias=mlp_bias)
        self.mlp.up_proj = nn.Linear(d, c["intermediate_size"], bias=mlp_bias)
        self.mlp.down_proj = nn.Linear(c["intermediate_size"], d, bias=mlp_bias)
        if c.get("hidden_act", "silu") != "silu":
            raise ValueError(f"config.json: hidden_act '{c.get('hidden_act')}' is not supported by the plain-PyTorch path")

    def forward(self, x, cos, sin):  # x (B, T, D); cos, sin (T, hd)
        B, T, _ = x.shape
        a = self.self_attn
        h = self.input_layernorm(x)
        q = a.q_proj(h).view(B, T, self.nh, self.hd).transpose(1, 2)  # (B, nh, T, hd)
        k = a.k_proj(h).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = a.v_proj(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
        rep = self.nh // self.nkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)  # (B, nh, T, hd)
        y = _causal_attention(q, k, v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        x = x + a.o_proj(y)
        m, h = self.mlp, self.post_attention_layernorm(x)
        return x + m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h))


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([LlamaBlock(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(c["hidden_size"], c.get("rms_norm_eps", 1e-6))
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        hd = self.model.layers[0].hd if c["num_hidden_layers"] else c["hidden_size"] // c["num_attention_heads"]
        self.register_buffer("inv_freq", _rope_inv_freq(c, hd), persistent=False)

    def forward(self, ids):  # ids (B, T) -> logits (B, T, V)
        T = ids.shape[1]
        freqs = torch.outer(torch.arange(T, device=ids.device, dtype=torch.float32), self.inv_freq)  # (T, hd/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (T, hd)
        cos, sin = emb.cos(), emb.sin()
        x = self.model.embed_tokens(ids)
        for block in self.model.layers:
            x = block(x, cos, sin)
        x = self.model.norm(x)
        return x @ (self.model.embed_tokens.weight if self.tied else self.lm_head.weight).T

    @staticmethod
    def canonical(name):
        return name

    @staticmethod
    def ignored(name):
        return name.endswith("rotary_emb.inv_freq")


ARCHITECTURES = {"GPT2LMHeadModel": GPT2LMHeadModel, "LlamaForCausalLM": LlamaForCausalLM}


def load_torch_model(model_dir):
    """The model of a Hugging Face folder as a plain-PyTorch module with HF parameter names."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    arch = (c.get("architectures") or ["?"])[0]
    if arch not in ARCHITECTURES:
        raise ValueError(f"{model_dir}/config.json: architecture {arch} is not supported by the plain-PyTorch path (use transformers)")
    cls = ARCHITECTURES[arch]
    model = cls(c)
    weights = {cls.canonical(k): v for k, v in read_model_weights(model_dir).items() if not cls.ignored(k)}
    own = model.state_dict()
    if getattr(model, "tied", False):
        weights.pop("lm_head.weight", None)
    missing = sorted(set(own) - set(weights))
    unknown = sorted(set(weights) - set(own))
    if missing or unknown:
        raise ValueError(f"{model_dir}: weights do not match config.json (missing {missing[:5]}, unknown {unknown[:5]})")
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    return model


def save_torch_model(model, out_dir):
    """Writes the weights as model.safetensors in Hugging Face names (the caller copies config and tokenizer)."""
    write_safetensors(os.path.join(out_dir, "model.safetensors"), dict(model.state_dict()), {"format": "pt"})
