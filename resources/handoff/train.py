#!/usr/bin/env python3
"""Scion hand-off trainer: continues a Scion training session on PyTorch, from one GPU to many nodes.

`scion handoff` wrote this folder: the model (a Hugging Face folder in model/), the tokenized data
(data/*.bin, nanoGPT's flat little-endian token files), the evaluation windows Scion uses, and
scion-handoff.json with every setting of the session. This script trains exactly as `scion train`
does (same data order from the same seed, AdamW with the same decay rule, warm-up and schedule,
global-norm clipping, gradient accumulation, evaluation windows, the masked-growth ramp) and writes
a run folder Scion reads back with `scion import-run`:

  run/run.json        the session's settings (Scion's run format)
  run/metrics.jsonl   one JSON line per step: step, train_loss, lr, tokens, time, grad_norm, val_loss
  run/checkpoints/    step-N/model (a Hugging Face folder) + step-N/trainer.pt (optimizer, data position)
  run/final/          the trained model, a Hugging Face folder
  run/result.json     the summary

Start it with ./launch.sh (one GPU, N GPUs, several nodes: see README.md). Under torchrun every
process takes an equal slice of each batch (DistributedDataParallel), so the gradient, the losses
and the data order are the same as on one device. `--resume` continues from the newest checkpoint.
"""
import argparse
import json
import math
import os
import shutil
import signal
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scion_torch_models as stm  # noqa: E402

M32 = 0xFFFFFFFF
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                   "tokenizer.model", "generation_config.json", "growth.json")


# ---------------------------------------------------------------- 1. Scion's random numbers (train/rng.ts)
class Rng:
    """mulberry32 with a one-uint32 state, bit for bit the generator of Scion's training data order."""

    def __init__(self, seed):
        self.s = seed & M32

    def next_uint32(self):
        self.s = (self.s + 0x6D2B79F5) & M32
        t = self.s
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t = t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)
        return (t ^ (t >> 14)) & M32

    def next(self):
        return self.next_uint32() / 4294967296.0

    def int(self, n):
        return math.floor(self.next() * n)


def sub_seed(seed, stream):
    """An independent seed for a named stream ('data', 'init') of a run seed."""
    h = (seed ^ 0x9E3779B9) & M32
    for ch in stream:
        h = ((h ^ ord(ch)) * 0x01000193) & M32
    return Rng(h).next_uint32()


# ---------------------------------------------------------------- 2. the learning rate (train/schedule.ts)
def learning_rate(step, o, warmup):
    """The rate update `step + 1` uses (steps count from 0)."""
    if warmup > 0 and step < warmup:
        return o["lr"] * (step + 1) / warmup
    if o["schedule"] == "constant":
        return o["lr"]
    decay_start = warmup + (o.get("hold") or 0)  # a constant phase at the peak (after growth: +hold)
    if step < decay_start:
        return o["lr"]
    span = max(1, o["steps"] - decay_start)
    progress = min(1.0, max(0.0, (step - decay_start) / span))
    shape = 0.5 * (1 + math.cos(math.pi * progress)) if o["schedule"] == "cosine" else 1 - progress
    return o["minLr"] + (o["lr"] - o["minLr"]) * shape


# ---------------------------------------------------------------- 3. data (train/batches.ts, data.ts)
def token_file(folder, spec):
    return np.memmap(os.path.join(folder, spec["file"]), dtype=np.dtype(spec["dtype"]).newbyteorder("<"), mode="r")


def sample_starts(rng, n_tokens, ctx, batch):
    span = n_tokens - (ctx + 1) + 1
    if span < 1:
        raise SystemExit(f"the training data has {n_tokens} tokens, fewer than one window of ctx + 1 = {ctx + 1}")
    return [rng.int(span) for _ in range(batch)]


def sequential_starts(index, n_tokens, ctx, batch):
    """Window starts of the sequential sampler's batch `index` (0-based): window i starts at token i * ctx."""
    need = (index + 1) * batch * ctx + 1
    if need > n_tokens:
        raise SystemExit(f"the sequential sampler needs {need} tokens for batch {index + 1} but the training data has {n_tokens}")
    return [(index * batch + w) * ctx for w in range(batch)]


def batch_from_starts(ids, starts, ctx, device):
    rows = np.stack([np.asarray(ids[s : s + ctx + 1], dtype=np.int64) for s in starts])  # (B, T+1)
    t = torch.from_numpy(rows).to(device)
    return t[:, :-1], t[:, 1:]  # inputs (B, T), targets (B, T)


# ---------------------------------------------------------------- 4. the model
def load_model(model_dir, impl):
    """(model, impl used). 'auto' takes transformers when it is installed, else the plain-PyTorch models."""
    if impl in ("auto", "transformers"):
        try:
            import transformers  # noqa: F401
            from transformers import AutoModelForCausalLM
        except ImportError:
            if impl == "transformers":
                raise SystemExit("--impl transformers: transformers is not installed (pip install -r requirements.txt)")
        else:
            try:
                model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
            except TypeError:  # transformers < 4.56 names it torch_dtype
                model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
            for m in model.modules():  # Scion trains without dropout
                if isinstance(m, nn.Dropout):
                    m.p = 0.0
            return model, "transformers " + transformers.__version__
    return stm.load_torch_model(model_dir), "plain PyTorch"


def logits_of(model, ids):
    out = model(ids)
    return out if torch.is_tensor(out) else out.logits  # (B, T, V)


def mean_loss(model, inputs, targets):
    logits = logits_of(model, inputs)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))


def decays(name, p):
    """Scion's AdamW rule (train/adamw.ts): decay weight matrices, never norms, biases or embeddings."""
    if p.dim() < 2:
        return False
    return not (name.endswith("wte.weight") or name.endswith("wpe.weight") or name.endswith("embed_tokens.weight"))


class MaskRamp:
    """Masked growth (MSG): the loss sees W_eff = W * (M + (1 - M) * r), r = min(1, step / K).

    The weights are swapped for W_eff around each forward and swapped back before the update; by
    the chain rule W's gradient is the multiplier times W_eff's (train/mask-ramp.ts)."""

    def __init__(self, model, mask_file, ramp_steps):
        params = dict(model.named_parameters())
        self.steps = ramp_steps
        self.masks = {}
        for name, m in stm.read_safetensors(mask_file).items():
            key = name if name in params else stm.GPT2LMHeadModel.canonical(name)
            if key not in params or tuple(params[key].shape) != tuple(m.shape):
                raise SystemExit(f"{mask_file}: mask {name} does not fit the model's parameters")
            self.masks[key] = (params[key], m.to(params[key].device))
        self.saved = None

    def r(self, step):
        return min(1.0, step / self.steps)

    def apply(self, step):
        """Puts W_eff after `step` updates in place of W (no-op after the ramp)."""
        r = self.r(step)
        if r >= 1:
            return None
        self.saved = {}
        with torch.no_grad():
            for name, (p, m) in self.masks.items():
                scale = m + (1 - m) * r  # W_eff / W, also the gradient's multiplier
                self.saved[name] = (p.detach().clone(), scale)
                p.mul_(scale)
        return r

    def restore(self, r, scale_grads):
        if r is None:
            return
        with torch.no_grad():
            for name, (p, _) in self.masks.items():
                raw, scale = self.saved[name]
                p.copy_(raw)
                if scale_grads and p.grad is not None:
                    p.grad.mul_(scale)
        self.saved = None


def clip_by_global_norm(params, max_norm):
    """Scion's clipping (train/clip.ts): scale every gradient by max_norm / ||g|| when ||g|| > max_norm; returns ||g||."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads)).item()
    if math.isfinite(max_norm) and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm


# ---------------------------------------------------------------- 5. evaluation (eval/evaluate.ts)
@torch.no_grad()
def evaluate(model, windows, device, batch=16):
    """Mean next-token loss over the windows (tokens 2..ctx of each, predicted from their prefixes)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, windows.shape[0], batch):
        w = torch.from_numpy(windows[i : i + batch].astype(np.int64)).to(device)  # (b, ctx)
        logits = logits_of(model, w[:, :-1])  # (b, ctx-1, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), w[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += w[:, 1:].numel()
    if was_training:
        model.train()
    return total / count


# ---------------------------------------------------------------- 6. files
def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, value):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_metrics(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a torn last line from a killed process
    return out


def save_hf_folder(model, impl, model_dir, out_dir):
    """The model as a Hugging Face folder with the source's config and tokenizer files."""
    os.makedirs(out_dir, exist_ok=True)
    if impl.startswith("transformers"):
        model.save_pretrained(out_dir, safe_serialization=True)
    else:
        shutil.copyfile(os.path.join(model_dir, "config.json"), os.path.join(out_dir, "config.json"))
        stm.save_torch_model(model, out_dir)
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copyfile(os.path.join(model_dir, name), os.path.join(out_dir, name))


def checkpoint_steps(folder):
    steps = []
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith("step-") and name[5:].isdigit():
                steps.append(int(name[5:]))
    return sorted(steps)


# ---------------------------------------------------------------- 7. the run
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "run"), help="the run folder (default: run/ beside this script)")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    ap.add_argument("--impl", choices=["auto", "transformers", "torch"], default="auto",
                    help="the model code: transformers (default when installed) or the plain-PyTorch models beside this script")
    ap.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA (Scion's runs are float32)")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on CUDA")
    ap.add_argument("--stop-after", type=int, default=None, help="stop (with a checkpoint) after this many steps of this session")
    ap.add_argument("--log-every", type=int, default=10)
    args = ap.parse_args()

    manifest = read_json(os.path.join(HERE, "scion-handoff.json"))
    o = manifest["options"]
    model_dir = os.path.join(HERE, manifest["model"]["dir"])

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() if args.device is None else args.device.startswith("cuda")
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if o["batch"] % world != 0:
        raise SystemExit(f"the batch ({o['batch']} windows) must divide evenly over {world} processes")
    per_rank = o["batch"] // world
    main_process = rank == 0

    def log(msg):
        if main_process:
            print(msg, file=sys.stderr, flush=True)

    run_dir = os.path.abspath(args.out)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    metrics_file = os.path.join(run_dir, "metrics.jsonl")
    if not args.resume and read_metrics(metrics_file):
        raise SystemExit(f"{run_dir}: a run is already there (continue it with --resume, or pick another --out)")

    # the model, the optimizer and the masked-growth ramp
    torch.manual_seed(o["seed"])
    model, impl = load_model(model_dir, args.impl)
    model.to(device).train()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if decays(n, p)], "weight_decay": o["weightDecay"]},
        {"params": [p for n, p in named if not decays(n, p)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    ramp = None
    if o.get("maskRamp"):
        ramp = MaskRamp(model, os.path.join(model_dir, "growth-mask.safetensors"), o["maskRamp"])
    if manifest["model"].get("moments") and not args.resume:
        moments = stm.read_safetensors(os.path.join(HERE, manifest["model"]["moments"]))
        t = float(manifest["model"]["moments_t"])
        for n, p in named:
            opt.state[p] = {"step": torch.tensor(t), "exp_avg": moments[f"m/{n}"].to(device), "exp_avg_sq": moments[f"v/{n}"].to(device)}
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local] if cuda else None) if world > 1 else model

    # where we start: step 0, or the newest checkpoint
    state = {"step": 0, "rng": sub_seed(o["seed"], "data"), "tokens": 0, "time": 0.0}
    if args.resume and checkpoint_steps(ckpt_dir):
        step = checkpoint_steps(ckpt_dir)[-1]
        saved = torch.load(os.path.join(ckpt_dir, f"step-{step}", "trainer.pt"), map_location="cpu")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        state = saved["state"]
        log(f"resuming {run_dir} from step {state['step']}")
    elif args.resume:
        log(f"{run_dir}: no checkpoint; starting again from step 0")
    if main_process:
        os.makedirs(run_dir, exist_ok=True)
        kept = [m for m in read_metrics(metrics_file) if m["step"] <= state["step"]]
        with open(metrics_file + ".tmp", "w") as f:
            f.writelines(json.dumps(m) + "\n" for m in kept)
        os.replace(metrics_file + ".tmp", metrics_file)
        if not os.path.exists(os.path.join(run_dir, "run.json")):
            write_json(os.path.join(run_dir, "run.json"), {
                "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "options": o,
                "model": manifest["model"]["shape"],
                "backend": f"pytorch {torch.__version__} ({impl}) on {device.type} x{world}",
                "handoff": {"manifest": os.path.join(HERE, "scion-handoff.json")},
            })

    train_ids = token_file(HERE, manifest["data"]["train"])
    val_windows = None
    if manifest["data"].get("val_windows"):
        spec = manifest["data"]["val_windows"]
        val_windows = np.asarray(token_file(HERE, spec)).reshape(-1, spec["ctx"])
    rng = Rng(state["rng"])
    warmup = o["rewarm"] if o.get("rewarm") is not None else o["warmup"]
    tokens_per_step = o["batch"] * o["ctx"] * o["gradAccum"]
    clip = o["clip"] if o["clip"] > 0 else float("inf")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if (args.bf16 and cuda) else None

    def validation(step):
        r = ramp.apply(step) if ramp else None
        try:
            return evaluate(model, val_windows, device)
        finally:
            if ramp:
                ramp.restore(r, scale_grads=False)

    def append(m):
        if main_process:
            with open(metrics_file, "a") as f:
                f.write(json.dumps(m) + "\n")

    def save_checkpoint(step):
        if main_process:
            tmp = os.path.join(ckpt_dir, f".step-{step}.tmp-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            state_now = {**state, "rng": rng.s}
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state_now}, os.path.join(tmp, "trainer.pt"))
            r = ramp.apply(step) if ramp else None
            try:
                save_hf_folder(model, impl, model_dir, os.path.join(tmp, "model"))
            finally:
                if ramp:
                    ramp.restore(r, scale_grads=False)
            final = os.path.join(ckpt_dir, f"step-{step}")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            for old in checkpoint_steps(ckpt_dir)[: -o["keepCheckpoints"]]:
                shutil.rmtree(os.path.join(ckpt_dir, f"step-{old}"), ignore_errors=True)
        if world > 1:
            torch.distributed.barrier()

    stop = {"asked": False}

    def on_signal(signum, frame):
        if stop["asked"]:
            sys.exit(130)
        stop["asked"] = True
        log("\ninterrupted: writing a checkpoint (Ctrl-C again to quit at once)")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    metrics = read_metrics(metrics_file) if main_process else []
    if state["step"] == 0 and val_windows is not None and not any(m["step"] == 0 for m in metrics):
        m = {"step": 0, "tokens": 0, "time": 0, "val_loss": validation(0)}
        append(m)
        metrics.append(m)
    session_steps, last_ckpt = 0, -1
    t_log = time.time()
    while state["step"] < o["steps"]:
        step = state["step"] + 1
        lr = learning_rate(step - 1, o, warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.time()
        r = ramp.apply(state["step"]) if ramp else None
        loss_sum = torch.zeros((), device=device)
        for k in range(o["gradAccum"]):
            if o.get("sampler") == "sequential":
                starts = sequential_starts(state["step"] * o["gradAccum"] + k, len(train_ids), o["ctx"], o["batch"])
            else:
                starts = sample_starts(rng, len(train_ids), o["ctx"], o["batch"])  # every process draws the whole batch
            inputs, targets = batch_from_starts(train_ids, starts[rank * per_rank : (rank + 1) * per_rank], o["ctx"], device)
            sync = k == o["gradAccum"] - 1 or world == 1
            ctx_sync = ddp.no_sync() if (world > 1 and not sync) else _nullcontext()
            with ctx_sync:
                if autocast:
                    with autocast:
                        loss = mean_loss(ddp, inputs, targets)
                else:
                    loss = mean_loss(ddp, inputs, targets)
                (loss / o["gradAccum"]).backward()
            loss_sum += loss.detach()
        if ramp:
            ramp.restore(r, scale_grads=True)
        grad_norm = clip_by_global_norm([p for _, p in named], clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        train_loss = loss_sum / o["gradAccum"]
        if world > 1:
            torch.distributed.all_reduce(train_loss)
            train_loss /= world
        train_loss = train_loss.item()
        if not math.isfinite(train_loss):
            raise SystemExit(f"training diverged: the loss is {train_loss} at step {step} (try a lower lr or clip)")
        state["step"] = step
        state["tokens"] += tokens_per_step
        state["time"] += time.time() - t0
        m = {"step": step, "train_loss": train_loss, "lr": lr, "tokens": state["tokens"], "time": round(state["time"], 3),
             "grad_norm": grad_norm}
        if val_windows is not None and (step % o["evalEvery"] == 0 or step == o["steps"]):
            m["val_loss"] = validation(step)
        append(m)
        metrics.append(m)
        session_steps += 1
        if step % args.log_every == 0 or step == o["steps"]:
            rate = tokens_per_step * args.log_every / max(1e-9, time.time() - t_log)
            t_log = time.time()
            log(f"step {step}/{o['steps']} loss {train_loss:.4f} lr {lr:.2e} {rate:,.0f} tokens/s"
                + (f" val {m['val_loss']:.4f}" if "val_loss" in m else ""))
        halt = stop["asked"] or (args.stop_after is not None and session_steps >= args.stop_after)
        if world > 1:
            flag = torch.tensor([1.0 if halt else 0.0], device=device)
            torch.distributed.all_reduce(flag)
            halt = flag.item() > 0
        if step % o["checkpointEvery"] == 0 or step == o["steps"] or halt:
            save_checkpoint(step)
            last_ckpt = step
        if halt:
            break

    if state["step"] < o["steps"]:
        if last_ckpt != state["step"]:
            save_checkpoint(state["step"])
        log(f"stopped at step {state['step']}; continue with: ./launch.sh ... --resume")
        return 130
    if main_process:
        final = os.path.join(run_dir, "final")
        tmp = final + f".tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        r = ramp.apply(state["step"]) if ramp else None
        save_hf_folder(model, impl, model_dir, tmp)
        if ramp:
            ramp.restore(r, scale_grads=False)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        vals = [x for x in metrics if "val_loss" in x]
        trains = [x for x in metrics if "train_loss" in x]
        result = {"status": "completed", "runDir": run_dir, "step": state["step"], "steps": o["steps"],
                  "tokens": state["tokens"], "seconds": state["time"], "finalModel": final}
        if vals and vals[0]["step"] == 0:
            result["initialValLoss"] = vals[0]["val_loss"]
        if vals:
            result["finalValLoss"] = vals[-1]["val_loss"]
        if trains:
            result["finalTrainLoss"] = trains[-1]["train_loss"]
        write_json(os.path.join(run_dir, "result.json"), result)
        log(f"done: {run_dir}/final (bring it back with: scion import-run {HERE} --project <project>)")
    if world > 1:
        torch.distributed.barrier()
    return 0


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()
    sys.exit(code)
