#!/usr/bin/env python3
"""
Re-creates test/fixtures/hf: the reference models and outputs the engine is checked against,
made with Hugging Face transformers, as test/fixtures/hf/README.md describes them.

    python3 scripts/make-fixtures.py --out test/fixtures/hf [--hypercloning-repo PATH] [--device cuda] [--families]
    python3 scripts/make-fixtures.py --only-families     # only the family references (scripts/fixture_families.py),
                                                         # with the stored tokenizer, leaving the other folders as they are

Versions the stored fixtures were made with (the script warns when yours differ; the
reference logits depend on them only at float32 rounding level):
    transformers 5.17, tokenizers 0.23, torch 2.11 (float32, TF32 off)
    Apple's ml-hypercloning (https://github.com/apple/ml-hypercloning, a source checkout:
    it is not on PyPI; it imports hf_olmo, so `pip install ai2-olmo` first)

What it writes, per folder (config.json, model.safetensors, generation_config.json,
tokenizer.json, expected.safetensors, expected.json):
    gpt2-random-d64-l2       GPT2LMHeadModel, vocab 512, n_positions 128, n_embd 64, 2 layers,
                             4 heads, tied head, gelu_new; untrained (seed 0)
    gpt2-shakespeare-d64-l2  the same, trained 4000 AdamW steps on the first 90% of tiny
                             Shakespeare (batch 64 x 128 tokens)
    llama-shakespeare-h64-l2 LlamaForCausalLM, vocab 512, hidden 64, intermediate 128, 2 layers,
                             4 heads, 2 KV heads, RoPE theta 10000, RMSNorm eps 1e-5, untied
                             head; trained 3000 steps the same way
    llama-shakespeare-h64-l2-hypercloned-x2  the Llama grown by Apple's cloneModel
                             (embedding_dim_multiplier=2, up_project_multiplier=2, no noise)

expected.safetensors: probe_input_ids int32 [2, 64] (the first 64 tokens of eval windows 0
and 1), probe_logits float32 [2, 64, vocab], eval_input_ids int32 [16, 128] (windows at
floor(i * (N - 129) / 15) of the token ids of the last 10% of tiny Shakespeare).
expected.json: eval_loss (transformers' loss with labels = input_ids, averaged over the 16 x
127 predictions), eval_windows, ctx, tokenizer_samples, and for trained models
trained_steps and history (train loss every 200 steps).

The optimiser settings below (lr, warm-up, cosine decay, weight decay, betas, seed) are not
recorded in the stored fixtures: a re-creation gives models of the same kind, not the same
bits. Every test compares the engine with whatever the folder holds, so a re-created set
keeps the tests meaningful; re-run the whole suite after replacing it.
"""
import argparse
import json
import math
import os
import sys

CORPUS = os.path.join(os.path.dirname(__file__), '..', 'resources', 'data', 'tinyshakespeare.txt')
VOCAB = 512
CTX = 128
EVAL_WINDOWS = 16
PROBE = (2, 64)
SAMPLES = ['To be, or not to be: that is the question.', 'The European lobster is blue.', '  indented\n\tline \u00fc \u20ac']
EXPECTED_VERSIONS = {'transformers': '5.17', 'tokenizers': '0.23', 'torch': '2.11'}


def check_versions():
    import tokenizers
    import torch
    import transformers

    have = {'transformers': transformers.__version__, 'tokenizers': tokenizers.__version__, 'torch': torch.__version__}
    for name, want in EXPECTED_VERSIONS.items():
        if not have[name].startswith(want):
            print(f'warning: {name} {have[name]}, the stored fixtures were made with {want}', file=sys.stderr)
    return have


def train_tokenizer(text):
    """A byte-level BPE with 512 tokens (<|endoftext|> is id 0), trained on the training split."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=['<|endoftext|>'], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([text], trainer=trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    return tok


def eval_windows(ids):
    """16 windows of 128 token ids at evenly spaced offsets of the eval split."""
    n = len(ids)
    return [ids[(i * (n - CTX - 1)) // (EVAL_WINDOWS - 1):][:CTX] for i in range(EVAL_WINDOWS)]


def gpt2_config():
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=VOCAB, n_positions=CTX, n_embd=64, n_layer=2, n_head=4, n_inner=None, activation_function='gelu_new',
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0, tie_word_embeddings=True,
    )


def llama_config():
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, max_position_embeddings=CTX, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
        attention_bias=False, mlp_bias=False, bos_token_id=0, eos_token_id=0,
    )


def train(model, train_ids, steps, device, seed, lr, warmup, batch=64):
    """AdamW on random 128-token windows of the training split; returns the loss every 200 steps."""
    import torch

    g = torch.Generator().manual_seed(seed)
    data = torch.tensor(train_ids, dtype=torch.long)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    history = []
    model.train()
    for step in range(steps + 1):
        starts = torch.randint(0, len(data) - CTX - 1, (batch,), generator=g)
        x = torch.stack([data[s : s + CTX] for s in starts]).to(device)
        out = model(input_ids=x, labels=x)
        if step % 200 == 0:
            history.append({'step': step, 'train_loss': out.loss.item()})
        if step == steps:
            break
        f = (step + 1) / warmup if step < warmup else 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
        for group in opt.param_groups:
            group['lr'] = lr * f
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
    model.eval()
    return history


def write_folder(out, name, model, tok, windows, extra):
    """The model folder plus expected.safetensors and expected.json."""
    import torch
    from safetensors.torch import save_file

    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model = model.to('cpu').float().eval()
    model.save_pretrained(folder, safe_serialization=True)
    tok.save(os.path.join(folder, 'tokenizer.json'))
    eval_ids = torch.tensor(windows, dtype=torch.long)  # [16, 128]
    probe_ids = eval_ids[: PROBE[0], : PROBE[1]]  # [2, 64]
    with torch.no_grad():
        probe_logits = model(input_ids=probe_ids).logits.float()  # [2, 64, vocab]
        eval_loss = model(input_ids=eval_ids, labels=eval_ids).loss.item()
    save_file(
        {'probe_input_ids': probe_ids.to(torch.int32).contiguous(), 'probe_logits': probe_logits.contiguous(), 'eval_input_ids': eval_ids.to(torch.int32).contiguous()},
        os.path.join(folder, 'expected.safetensors'),
    )
    samples = [{'text': s, 'ids': tok.encode(s).ids} for s in SAMPLES]
    doc = {'eval_loss': eval_loss, 'eval_windows': EVAL_WINDOWS, 'ctx': CTX, 'tokenizer_samples': samples, **extra}
    with open(os.path.join(folder, 'expected.json'), 'w') as f:
        json.dump(doc, f, indent=2)
    print(f'{name}: eval loss {eval_loss:.6f}', file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'hf'))
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--hypercloning-repo', help="a checkout of apple/ml-hypercloning (for the hypercloned-x2 folder); without it that folder is skipped")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--families', action='store_true', help='also write the Qwen2, Qwen3, Mistral and GPT-NeoX references (scripts/fixture_families.py)')
    ap.add_argument('--only-families', action='store_true', help='write only those, with the tokenizer stored in llama-shakespeare-h64-l2 when present')
    args = ap.parse_args()

    import torch
    from transformers import GPT2LMHeadModel, LlamaForCausalLM

    versions = check_versions()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    text = open(CORPUS, encoding='utf-8').read()
    cut = int(len(text) * 0.9)
    stored = os.path.join(args.out, 'llama-shakespeare-h64-l2', 'tokenizer.json')
    if args.only_families and os.path.isfile(stored):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(stored)
    else:
        tok = train_tokenizer(text[:cut])
    train_ids = tok.encode(text[:cut]).ids
    windows = eval_windows(tok.encode(text[cut:]).ids)
    corpus = {'corpus': 'tinyshakespeare (first 90% train, last 10% eval)'}
    if args.families or args.only_families:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from fixture_families import make_family_fixtures

        make_family_fixtures(args.out, tok, train_ids, windows, args.device, args.seed, args.lr, args.warmup, train, write_folder, corpus)
        if args.only_families:
            print(json.dumps({'versions': versions}), file=sys.stderr)
            return

    torch.manual_seed(args.seed)
    write_folder(args.out, 'gpt2-random-d64-l2', GPT2LMHeadModel(gpt2_config()), tok, windows, {'trained_steps': 0})

    torch.manual_seed(args.seed)
    gpt2 = GPT2LMHeadModel(gpt2_config()).to(args.device)
    history = train(gpt2, train_ids, 4000, args.device, args.seed, args.lr, args.warmup)
    write_folder(args.out, 'gpt2-shakespeare-d64-l2', gpt2, tok, windows, {'trained_steps': 4000, 'history': history, **corpus})

    torch.manual_seed(args.seed)
    llama = LlamaForCausalLM(llama_config()).to(args.device)
    history = train(llama, train_ids, 3000, args.device, args.seed, args.lr, args.warmup)
    write_folder(args.out, 'llama-shakespeare-h64-l2', llama, tok, windows, {'trained_steps': 3000, 'history': history, **corpus})

    if args.hypercloning_repo:
        sys.path.insert(0, args.hypercloning_repo)
        from hypercloning import cloneModel

        grown = cloneModel(llama.to('cpu'), embedding_dim_multiplier=2, up_project_multiplier=2, snr_db=None)
        extra = {'grown_from': 'llama-shakespeare-h64-l2', 'method': 'hypercloning (Apple ml-hypercloning, snr_db=None)', 'embedding_dim_multiplier': 2, 'up_project_multiplier': 2}
        write_folder(args.out, 'llama-shakespeare-h64-l2-hypercloned-x2', grown, tok, windows, extra)
    else:
        print('skipped llama-shakespeare-h64-l2-hypercloned-x2: pass --hypercloning-repo', file=sys.stderr)
    print(json.dumps({'versions': versions}), file=sys.stderr)


if __name__ == '__main__':
    main()
