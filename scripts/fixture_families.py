"""
The family references for test/fixtures/hf (issue 17), made by
scripts/make-fixtures.py --families with transformers; same form as the other folders
(config.json, model.safetensors, tokenizer.json, expected.safetensors, expected.json).

    qwen2-shakespeare-h64-l2         Qwen2ForCausalLM (q/k/v biases), vocab 512, hidden 64,
                                     intermediate 128, 2 layers, 4 heads, 2 KV heads,
                                     head_dim 16, untied head; trained 1000 steps
    qwen2-random-h64-l2-tied         the same config with a tied head (as Qwen2.5-0.5B);
                                     random init with biases drawn N(0, 0.3) (transformers
                                     initialises them to 0, which would not test them)
    qwen3-shakespeare-h64-l2         Qwen3ForCausalLM (per-head q/k RMSNorm), same sizes,
                                     head_dim 16 set explicitly (Qwen3's default is 128);
                                     trained 1000 steps
    mistral-shakespeare-h64-l2-w16   MistralForCausalLM with sliding_window 16, shorter than
                                     the probe (64) and eval (128) windows, so the windowed
                                     mask is what is checked; trained 1000 steps
    pythia-shakespeare-h64-l2        GPTNeoXForCausalLM (Pythia's layout: parallel residual,
                                     fused per-head q/k/v, LayerNorm, untied embed_out), vocab
                                     512, hidden 64, intermediate 256, 2 layers, 4 heads,
                                     rotary_pct 0.5 (8 of 16 dims rotate); trained 1000 steps
    opt-shakespeare-h64-l2           OPTForCausalLM, pre-LN (OPT-125M's layout: learned positions
                                     with the offset of 2, q/k/v/out and fc1/fc2 biases, ReLU,
                                     final LayerNorm, tied head), vocab 512, hidden 64, ffn_dim
                                     256, 2 layers, 4 heads, max_position_embeddings 128;
                                     trained 1000 steps
    opt-random-h64-l2-postln-proj    OPTForCausalLM post-LN with word_embed_proj_dim 32 (OPT-350M's
                                     layout: project_in / project_out, no final LayerNorm);
                                     random init with biases N(0, 0.3) and LayerNorm gains
                                     1 + N(0, 0.2)
    phi3-shakespeare-h64-l2-w16      Phi3ForCausalLM (fused qkv_proj and gate_up_proj), the Llama
                                     sizes with partial_rotary_factor 0.5 and sliding_window 16;
                                     trained 1000 steps
    gemma-shakespeare-h64-l2         GemmaForCausalLM ((1 + weight) RMSNorm, GeGLU tanh,
                                     embedding x sqrt(64)), same sizes as Qwen2, head_dim 16
                                     set explicitly (Gemma's default is 256), tied head;
                                     trained 1000 steps
    gemma-random-h64-l2-hd32         the same with head_dim 32 (heads x head_dim = 128 != 64)
                                     and an untied head; random init with the norm weights
                                     drawn N(0, 0.2) (transformers initialises them to 0)
    gemma3-shakespeare-h64-l2-w16    Gemma3ForCausalLM (text: sandwich norms, per-head q/k norms,
                                     query_pre_attn_scalar 24, layer 0 sliding with window 16
                                     and RoPE base 1000, layer 1 full with 10000), tied;
                                     trained 1000 steps
    olmo-shakespeare-h64-l2-clip     OlmoForCausalLM (LayerNorm without weights, clip_qkv 1.0),
                                     same sizes, tied head (as OLMo-1B); trained 1000 steps
    olmo2-shakespeare-h64-l2         Olmo2ForCausalLM (post-sublayer RMSNorms, q/k norm over the
                                     full projection width), same sizes, untied; trained 1000 steps

test/engine/families-reference.test.ts lights up for every folder present.
"""

SIZES = dict(
    vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    head_dim=16, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=0, eos_token_id=0,
)


def family_models():
    """(folder name, model constructor, trained steps, post-init tweak) for each family reference."""
    from transformers import (
        GPTNeoXConfig, GPTNeoXForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM,
    )
    from transformers import OPTConfig, OPTForCausalLM, Phi3Config, Phi3ForCausalLM
    from transformers import GemmaConfig, GemmaForCausalLM, Olmo2Config, Olmo2ForCausalLM, OlmoConfig, OlmoForCausalLM
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    # Gemma: both activation fields set, so old transformers (hidden_activation) and new (hidden_act) run the same tanh GELU
    gemma = dict(SIZES, hidden_act='gelu_pytorch_tanh', hidden_activation='gelu_pytorch_tanh')
    gemma3 = dict(
        gemma, layer_types=['sliding_attention', 'full_attention'], sliding_window=16, query_pre_attn_scalar=24,
        rope_theta=10000.0, rope_local_base_freq=1000.0, attn_logit_softcapping=None, final_logit_softcapping=None,
    )
    olmo = {k: v for k, v in SIZES.items() if k != 'rms_norm_eps'}  # OlmoLayerNorm's eps is fixed at 1e-5

    neox = GPTNeoXConfig(
        vocab_size=512, hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=128,
        rotary_pct=0.5, rotary_emb_base=10000, layer_norm_eps=1e-5, hidden_act='gelu', use_parallel_residual=True,
        tie_word_embeddings=False, attention_bias=True, bos_token_id=0, eos_token_id=0,
    )

    opt = dict(
        vocab_size=512, hidden_size=64, ffn_dim=256, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=128,
        activation_function='relu', enable_bias=True, layer_norm_elementwise_affine=True, tie_word_embeddings=True, dropout=0.0,
        attention_dropout=0.0, layerdrop=0.0, bos_token_id=0, eos_token_id=0, pad_token_id=None,
    )

    return [
        ('opt-shakespeare-h64-l2', lambda: OPTForCausalLM(OPTConfig(**opt, do_layer_norm_before=True, word_embed_proj_dim=64)), 1000),
        ('opt-random-h64-l2-postln-proj', lambda: OPTForCausalLM(OPTConfig(**opt, do_layer_norm_before=False, word_embed_proj_dim=32)), 0),
        (
            'phi3-shakespeare-h64-l2-w16',
            lambda: Phi3ForCausalLM(Phi3Config(**SIZES, tie_word_embeddings=False, partial_rotary_factor=0.5, sliding_window=16, rope_scaling=None)),
            1000,
        ),
        ('qwen2-shakespeare-h64-l2', lambda: Qwen2ForCausalLM(Qwen2Config(**SIZES, tie_word_embeddings=False, use_sliding_window=False)), 1000),
        ('qwen2-random-h64-l2-tied', lambda: Qwen2ForCausalLM(Qwen2Config(**SIZES, tie_word_embeddings=True, use_sliding_window=False)), 0),
        ('qwen3-shakespeare-h64-l2', lambda: Qwen3ForCausalLM(Qwen3Config(**SIZES, tie_word_embeddings=False, attention_bias=False, use_sliding_window=False)), 1000),
        ('mistral-shakespeare-h64-l2-w16', lambda: MistralForCausalLM(MistralConfig(**SIZES, tie_word_embeddings=False, sliding_window=16)), 1000),
        ('pythia-shakespeare-h64-l2', lambda: GPTNeoXForCausalLM(neox), 1000),
        ('gemma-shakespeare-h64-l2', lambda: GemmaForCausalLM(GemmaConfig(**gemma, tie_word_embeddings=True)), 1000),
        ('gemma-random-h64-l2-hd32', lambda: GemmaForCausalLM(GemmaConfig(**dict(gemma, head_dim=32), tie_word_embeddings=False)), 0),
        ('gemma3-shakespeare-h64-l2-w16', lambda: Gemma3ForCausalLM(Gemma3TextConfig(**gemma3, tie_word_embeddings=True)), 1000),
        ('olmo-shakespeare-h64-l2-clip', lambda: OlmoForCausalLM(OlmoConfig(**olmo, clip_qkv=1.0, tie_word_embeddings=True)), 1000),
        ('olmo2-shakespeare-h64-l2', lambda: Olmo2ForCausalLM(Olmo2Config(**SIZES, tie_word_embeddings=False)), 1000),
    ]


def draw_biases_and_norms(model, seed):
    """Biases N(0, 0.3) and q/k norm gains 1 + N(0, 0.2) (OPT: every bias, LayerNorm gains; Gemma: stored norm weights N(0, 0.2)): the family's own tensors, away from their neutral init."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('_proj.bias'):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith('q_norm.weight') or name.endswith('k_norm.weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif model.config.model_type == 'opt' and name.endswith('layer_norm.weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif model.config.model_type == 'opt' and name.endswith('.bias'):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif 'Gemma' in type(model).__name__ and name.endswith('norm.weight'):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))  # Gemma stores gain - 1: zero would not test the offset


def make_family_fixtures(out, tok, train_ids, windows, device, seed, lr, warmup, train, write_folder, corpus):
    """Writes the family folders with make-fixtures.py's own train() and write_folder()."""
    import torch

    for name, make, steps in family_models():
        torch.manual_seed(seed)
        model = make()
        draw_biases_and_norms(model, seed)
        model = model.to(device)
        extra = {'trained_steps': steps}
        if steps:
            extra.update({'history': train(model, train_ids, steps, device, seed, lr, warmup), **corpus})
        write_folder(out, name, model, tok, windows, extra)
