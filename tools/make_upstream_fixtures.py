#!/usr/bin/env python3
"""Regenerate tests/fixtures/upstream/ by running upstream's own model and tokenizer code on tiny random models.

    python tools/make_upstream_fixtures.py /path/to/OmniBioTE/src [--out tests/fixtures/upstream]

The path holds upstream's `model.py` and `OmniTokenizer.py` (github nyuolab/OmniBioTE, src/, commit 5656f7e); their
`metrics` import is given a stand-in here. Nothing of upstream's code is stored in this repository: the fixtures are
their files as torch.save writes them (whole pickled modules), the inputs, and the outputs their code computes.
"""
import argparse, hashlib, itertools, json, sys, types, warnings
from pathlib import Path
import numpy as np
import torch

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_upstream(src):
    "Import upstream's model.py and OmniTokenizer.py from the folder `src`."
    sys.modules.setdefault('metrics', types.SimpleNamespace(compute_tensor_stats=lambda t, name: None))
    sys.path.insert(0, str(src))
    import model, OmniTokenizer
    return model, OmniTokenizer


def perturb(m, g):
    "Non-trivial norm gains and biases, a head that is not ~0, so every folded factor shows."
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith('alpha'): p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            elif n.endswith('gamma'): p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif n.endswith('lm_head.weight'): p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif n.startswith('proj_head'): p.copy_(0.01 * torch.randn(p.shape, generator=g))   # output x 1024/C: O(1)


def bf16_char_model(M, g, seed, **shape):
    "A perturbed per-residue model of upstream's classes, cast whole to bf16 as their training scripts do."
    torch.manual_seed(seed)
    m = M.OmniBioTA(M.OmniBioTAConfig(context_length=96, vocab_size=49, **shape))
    perturb(m, g)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return m.to(torch.bfloat16)


def records(n_nuc=3, n_prot=3):
    "(tag, seq) of the first held-out records of the bundled corpus (nucleic acids: plain ACGT, as DNA), cut short."
    from omnibiote_nb.tokenizers import corpus
    plain = (r for r in corpus('nuc', None) if set(r.seq[:40]) <= set('ACGT'))
    nuc = [('DNA', r.seq[:40]) for r in itertools.islice(plain, n_nuc)]
    prot = [(r.tag, r.seq[:40]) for r in itertools.islice(corpus('prot', None), n_prot)]
    return nuc, prot


def run(m, xs):
    "Upstream's forward in float32 on each input alone, as their example runs it: hidden states and logits."
    m = m.float().eval()
    with torch.no_grad():
        return [m(torch.tensor([x]), return_embeddings=True)[0].numpy() for x in xs], [m(torch.tensor([x]))[0].numpy() for x in xs]


def save_case(out, name, module, arrays, meta):
    torch.save(module, out / f'{name}.pt')
    np.savez_compressed(out / f'{name}.npz', **arrays)
    meta[name] = dict(file=f'{name}.pt', bytes=(out / f'{name}.pt').stat().st_size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('src')
    ap.add_argument('--out', default=str(REPO / 'tests/fixtures/upstream'))
    a = ap.parse_args()
    M, T = load_upstream(a.src)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    meta = {}
    nuc, prot = records()
    char = T.OmniTokenizer(single_char=True)
    char_inputs = [char.Encode(f'<protein>{p}<EOS>', 'prot') + char.Encode(f'<{t}>{s}<EOS>', 'nuc') for (_, p), (t, s) in zip(prot, nuc)]

    # 1. per-residue, cast to bf16 as their training scripts do: the complex freqs_cis becomes its real part
    m = bf16_char_model(M, g, 1, n_layer=2, n_head=4, n_embd=32)
    assert m.transformer.h[0].attn.freqs_cis.dtype == torch.bfloat16
    h, l = run(m, char_inputs)
    singles = [('protein', p) for _, p in prot] + nuc
    hs, _ = run(m, [char.Encode(f'<{t}>{s}<EOS>', 'prot' if t == 'protein' else 'nuc') for t, s in singles])
    meta['char_singles'] = singles
    save_case(out, 'char_cos_bf16', m.to(torch.bfloat16), {**{f'x{i}': np.array(x) for i, x in enumerate(char_inputs)},
              **{f'h{i}': v for i, v in enumerate(h)}, **{f'l{i}': v for i, v in enumerate(l)},
              **{f'hs{i}': v for i, v in enumerate(hs)}}, meta)

    # 2. per-residue, float32, never cast: true RoPE with the complex buffer; 2 heads
    torch.manual_seed(2)
    cfg = M.OmniBioTAConfig(context_length=96, vocab_size=49, n_layer=2, n_head=2, n_embd=32)
    m = M.OmniBioTA(cfg)
    perturb(m, g)
    h, l = run(m, char_inputs)
    save_case(out, 'char_rope_f32', m, {**{f'x{i}': np.array(x) for i, x in enumerate(char_inputs)},
              **{f'h{i}': v for i, v in enumerate(h)}, **{f'l{i}': v for i, v in enumerate(l)}}, meta)

    # 3. BPE binder (OmniBindER), bf16 cast, numpy statistics; tokenizers trained with their settings on the bundled corpus
    from omnibiote_nb.upstream import bundled_upstream_style_tokenizers
    nuc_sp, prot_sp = bundled_upstream_style_tokenizers()
    tokdir = Path('/tmp/upstream_fixture_tokenizers')
    tokdir.mkdir(exist_ok=True)
    (tokdir / 'genbank-2k.model').write_bytes(nuc_sp)
    (tokdir / 'uniref-2k.model').write_bytes(prot_sp)
    import sentencepiece as spm
    banned = [[1, 2, spm.SentencePieceProcessor(model_proto=b).piece_to_id('\u2581')] for b in (nuc_sp, prot_sp)]
    bpe = T.OmniTokenizer(tokenizer_dir=str(tokdir))
    bpe.nuc_sp.banned_tokens, bpe.prot_sp.banned_tokens = banned   # their wrapper, with these files' dummy-prefix ids
    texts = [(f'<{t}>{s}<EOS>', 'nuc') for t, s in records(6, 0)[0]] + [(f'<protein>{p}<EOS>', 'prot') for _, p in records(0, 6)[1]]
    meta['tokenizers'] = dict(banned=banned, sha256=[hashlib.sha256(b).hexdigest() for b in (nuc_sp, prot_sp)],
                              texts=texts, ids=[bpe.Encode(x, k) for x, k in texts])
    pair_inputs = [bpe.Encode(f'<protein>{p}<EOS>', 'prot') + bpe.Encode(f'<{t}>{s}<EOS><{t}>{s[::-1]}<EOS>', 'nuc')
                   for (_, p), (t, s) in zip(prot, nuc)]
    torch.manual_seed(3)
    cfg = M.OmniBioTAConfig(context_length=128, vocab_size=4096, n_layer=2, n_head=2, n_embd=8)
    b = M.OmniBindER(cfg)
    b.stats = np.asarray([-9.3, 1.6])
    perturb(b, g)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        b = b.to(torch.bfloat16)
    bf = b.float().eval()
    with torch.no_grad():
        dg = np.array([bf(torch.tensor([x])).item() for x in pair_inputs])
        hb = [bf.omnibiota(torch.tensor([x]), return_embeddings=True)[0].numpy() for x in pair_inputs]
    meta['binder_pairs'] = [dict(protein=p, na=s, na2=s[::-1], na_type=t) for (_, p), (t, s) in zip(prot, nuc)]
    save_case(out, 'binder_bpe_bf16', b.to(torch.bfloat16), {**{f'x{i}': np.array(x) for i, x in enumerate(pair_inputs)},
              **{f'h{i}': v for i, v in enumerate(hb)}, 'dg': dg}, meta)
    # 4. a torch.compile'd module, saved whole as their training scripts do with --compile (the wrapper's state included)
    m = bf16_char_model(M, g, 4, n_layer=1, n_head=2, n_embd=8)
    h, l = run(m, char_inputs[:1])
    save_case(out, 'char_compiled_bf16', torch.compile(m.to(torch.bfloat16)), {'x0': np.array(char_inputs[0]), 'h0': h[0], 'l0': l[0]}, meta)
    (out / 'fixtures.json').write_text(json.dumps(meta, indent=1) + '\n')
    print({k: v.get('bytes') for k, v in meta.items() if isinstance(v, dict)})


if __name__ == '__main__':
    main()
