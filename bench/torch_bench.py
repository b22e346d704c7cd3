"""PyTorch reference for `npm run bench`: the same models and step (AdamW without weight
decay = Adam, mean next-token cross-entropy) as bench/train-step.ts, timed the same way.

Usage: python3 bench/torch_bench.py '<json list of configs>' [--device cpu|cuda] [--steps N]
Prints one JSON object: {"torch": version, "device": ..., "threads": n, "results": [...]}.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["nEmbd"]
        self.h = c["nHead"]
        self.ln_1 = nn.LayerNorm(d, eps=c["layerNormEpsilon"])
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layerNormEpsilon"])
        self.fc = nn.Linear(d, c["nInner"])
        self.proj = nn.Linear(c["nInner"], d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") else manual_attention(q, k, v)
        x = x + self.c_proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


def manual_attention(q, k, v):
    t = q.shape[-2]
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s, -1) @ v


class GPT2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocabSize"], c["nEmbd"])
        self.wpe = nn.Embedding(c["nPositions"], c["nEmbd"])
        self.h = nn.ModuleList(GPT2Block(c) for _ in range(c["nLayer"]))
        self.ln_f = nn.LayerNorm(c["nEmbd"], eps=c["layerNormEpsilon"])

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
        for blk in self.h:
            x = blk(x)
        return self.ln_f(x) @ self.wte.weight.t()


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["hiddenSize"], c["headDim"]
        self.h, self.kv, self.hd = c["numAttentionHeads"], c["numKeyValueHeads"], hd
        self.n1 = RMSNorm(d, c["rmsNormEps"])
        self.q = nn.Linear(d, self.h * hd, bias=False)
        self.k = nn.Linear(d, self.kv * hd, bias=False)
        self.v = nn.Linear(d, self.kv * hd, bias=False)
        self.o = nn.Linear(self.h * hd, d, bias=False)
        self.n2 = RMSNorm(d, c["rmsNormEps"])
        self.gate = nn.Linear(d, c["intermediateSize"], bias=False)
        self.up = nn.Linear(d, c["intermediateSize"], bias=False)
        self.down = nn.Linear(c["intermediateSize"], d, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        r = self.h // self.kv
        k, v = k.repeat_interleave(r, dim=1), v.repeat_interleave(r, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") else manual_attention(q, k, v)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, -1))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["vocabSize"], c["hiddenSize"])
        self.layers = nn.ModuleList(LlamaBlock(c) for _ in range(c["numHiddenLayers"]))
        self.norm = RMSNorm(c["hiddenSize"], c["rmsNormEps"])
        self.head = nn.Linear(c["hiddenSize"], c["vocabSize"], bias=False)

    def forward(self, ids):
        t, hd = ids.shape[1], self.c["headDim"]
        inv = 1.0 / (self.c["ropeTheta"] ** (torch.arange(0, hd, 2, device=ids.device).float() / hd))
        f = torch.outer(torch.arange(t, device=ids.device).float(), inv)
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed(ids)
        for blk in self.layers:
            x = blk(x, cos, sin)
        return self.head(self.norm(x))


def bench(cfg, device, steps, warmup):
    m = cfg["model"]
    torch.manual_seed(0)
    model = GPT2(m) if m["family"] == "gpt2" else Llama(m)
    with torch.no_grad():  # the same init as bench/train-step.ts: N(0, 0.02), norm gains 1, biases 0
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.02)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, m["vocabSize"], (cfg["batch"], cfg["ctx"] + 1), generator=g).to(device)
    x, y = ids[:, :-1], ids[:, 1:]

    def step():
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        loss.item()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    ms = times[len(times) // 2]
    return {"name": cfg["name"], "ms_per_step": ms, "tokens_per_s": cfg["batch"] * cfg["ctx"] / ms * 1000, "steps": steps, "final_loss": float(loss)}


def main():
    configs = json.loads(sys.argv[1])
    device = "cpu"
    steps = 10
    args = sys.argv[2:]
    if "--device" in args:
        device = args[args.index("--device") + 1]
    if "--steps" in args:
        steps = int(args[args.index("--steps") + 1])
    if device == "cpu":
        torch.set_num_threads(int(os.environ.get("SCION_TORCH_THREADS", os.cpu_count() or 1)))
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    results = [bench(c, device, steps, warmup=3) for c in configs]
    print(json.dumps({"torch": torch.__version__, "device": device if device == "cpu" else torch.cuda.get_device_name(0), "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
