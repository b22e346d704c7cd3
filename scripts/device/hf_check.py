"""Cross-checks folders exported by Scion (bench/hf-export.ts) against Hugging Face transformers.

For every DIR/<model>/ holding scion_check.json: loads the folder with
AutoModelForCausalLM.from_pretrained (float32, eager attention, CPU and, where present, CUDA
with TF32 off), runs the same token ids, and compares the logits with the ones Scion's
forward produced. Prints one JSON object; exits 1 if any model differs by more than the
tolerance (1e-4, as the fixture tests), 2 if transformers or torch is missing.

Usage: python3 scripts/device/hf_check.py DIR [--tol 1e-4]
"""
import json
import os
import sys


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    tol = float(sys.argv[sys.argv.index("--tol") + 1]) if "--tol" in sys.argv else 1e-4
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM
    except ImportError as e:
        print(json.dumps({"ok": False, "reason": f"cannot import torch/transformers: {e}"}))
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = []
    ok = True
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        check_file = os.path.join(folder, "scion_check.json")
        if not os.path.isfile(check_file):
            continue
        with open(check_file) as f:
            check = json.load(f)
        b, t, v = check["shape"]
        ids = torch.tensor(check["ids"], dtype=torch.long).reshape(b, t)
        if "logits_f32_b64" in check:  # grown-model checks store float32 bytes, base64
            import base64
            raw = bytearray(base64.b64decode(check["logits_f32_b64"]))
            ours = torch.frombuffer(raw, dtype=torch.float32).reshape(b, t, v).clone()
        else:
            ours = torch.tensor(check["logits"], dtype=torch.float32).reshape(b, t, v)
        row = {"model": name, "scion_backend": check["backend"], "train_losses": check.get("train_losses")}
        try:
            try:
                model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
            except TypeError:  # older transformers without attn_implementation
                model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
        except Exception as e:  # a folder transformers refuses is a failure to report, not a crash
            row["error"] = f"{type(e).__name__}: {e}"[:500]
            results.append(row)
            ok = False
            continue
        model.eval()
        row["architecture"] = type(model).__name__
        source = None
        if check.get("source"):  # a grown model: transformers itself compares it with its source
            row["scion_verdict"] = check.get("verdict")
            row["method"] = check.get("method")
            source = AutoModelForCausalLM.from_pretrained(os.path.normpath(os.path.join(folder, check["source"])), torch_dtype=torch.float32)
            source.eval()
        for dev in devices:
            with torch.no_grad():
                ref = model.to(dev)(ids.to(dev)).logits.float().cpu()
            diff = (ref - ours).abs().max().item()
            row[f"max_abs_diff_{dev}"] = diff
            ok = ok and diff <= tol
            if source is not None:
                with torch.no_grad():
                    src = source.to(dev)(ids.to(dev)).logits.float().cpu()
                # HF's own grown-vs-source gap, in the exactness test's units (<= 1 is exact)
                row[f"hf_grown_vs_source_max_abs_{dev}"] = (ref - src).abs().max().item()
                row[f"hf_grown_vs_source_tol_ratio_{dev}"] = ((ref - src).abs() / (1e-4 + 1e-4 * src.abs())).max().item()
                if check.get("verdict") == "exact":
                    ok = ok and row[f"hf_grown_vs_source_tol_ratio_{dev}"] <= 1.0
        results.append(row)
    if not results:
        print(json.dumps({"ok": False, "reason": f"no scion_check.json under {root}"}))
        return 1
    print(json.dumps({"ok": ok, "tolerance": tol, "transformers": transformers.__version__, "torch": torch.__version__, "models": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
