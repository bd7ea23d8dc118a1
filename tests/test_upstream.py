"Golden tests against upstream's own code (fixtures from tools/make_upstream_fixtures.py), safety and rejections of the importer."
import hashlib, io, json, pickle, zipfile
from pathlib import Path
import numpy as np
import pytest
import torch
from omnibiote_nb.core import OmniError
from omnibiote_nb import upstream as U
from omnibiote_nb.model import OmniBioTE
from omnibiote_nb.tokenizers import CharTokenizer

torch.set_num_threads(1)
FIX = Path(__file__).parent / 'fixtures' / 'upstream'
META = json.loads((FIX / 'fixtures.json').read_text())
TOL = {'upstream': 1e-5, 'layernorm': 1e-4}


def parts(name):
    return U.upstream_parts(U.read_upstream(FIX / f'{name}.pt'), name)


def inputs(z, key='x'):
    return [z[k] for k in sorted((k for k in z.files if k.startswith(key) and k[len(key):].isdigit()), key=lambda k: int(k[len(key):]))]


def within(ours, ref, tol):
    "Largest absolute difference, checked against `tol` times the size of the reference (at least 1)."
    d = float(np.abs(np.asarray(ours) - np.asarray(ref)).max())
    assert d <= tol * max(1.0, float(np.abs(ref).max())), d
    return d


@pytest.fixture(scope='module')
def tokenizer():
    "genbank-2k/uniref-2k stand-ins retrained with upstream's settings; the fixtures were made with the same bytes."
    nuc, prot = U.bundled_upstream_style_tokenizers()
    assert [hashlib.sha256(b).hexdigest() for b in (nuc, prot)] == META['tokenizers']['sha256'], 'retrained tokenizers differ from the fixtures\''
    return U.UpstreamBPE(nuc, prot, release=False)


@pytest.mark.parametrize('name,scheme', [('char_cos_bf16', 'cos'), ('char_rope_f32', 'rope'), ('char_compiled_bf16', 'cos')])
@pytest.mark.parametrize('norm', ['upstream', 'layernorm'])
def test_golden_per_residue(name, scheme, norm):
    "Imported per-residue models give upstream's hidden states and logits (ids mapped through the permutation)."
    z = np.load(FIX / f'{name}.npz')
    m = U.upstream_model(parts(name), name, norm)
    assert m.config.positions == scheme
    inv = np.argsort(U.char_permutation())
    for i, x in enumerate(inputs(z)):
        with torch.no_grad():
            h = m(torch.from_numpy(inv[x])[None])
            logits = m.mlm_logits(h)[0].numpy()[:, inv]
        within(h[0].numpy(), z[f'h{i}'], TOL[norm])
        within(logits, z[f'l{i}'], TOL[norm])


def test_cos_scheme_is_not_rope():
    "The bf16-cast file really is different from true RoPE: importing it as RoPE would change the hidden states."
    p = parts('char_cos_bf16')
    m = U.upstream_model(p, 'char_cos_bf16')
    rope = OmniBioTE(U.our_config(p['config'], 'rope', 'upstream')).eval()
    rope.load_state_dict({k: v for k, v in m.state_dict().items() if k != 'cos_table'})
    x = torch.from_numpy(np.argsort(U.char_permutation())[np.load(FIX / 'char_cos_bf16.npz')['x0']])[None]
    with torch.no_grad(): assert (m(x) - rope(x)).abs().max() > 1e-2
    assert torch.equal(m.cos_table, p['tensors']['transformer.h.0.attn.freqs_cis'].float())


def test_padded_equals_unpadded():
    "Inputs of different lengths in one padded batch give each input's unpadded hidden states."
    m = U.upstream_model(parts('char_cos_bf16'), 'x')
    tok = m.tokenizer
    seqs = [tok.encode(s, t) for t, s in META['char_singles']]
    T = max(map(len, seqs))
    batch = torch.full((len(seqs), T), tok.pad_id)
    for i, s in enumerate(seqs): batch[i, :len(s)] = torch.from_numpy(s.astype(np.int64))
    with torch.no_grad():
        padded = m(batch, pad_id=tok.pad_id)
        for i, s in enumerate(seqs):
            alone = m(torch.from_numpy(s.astype(np.int64))[None])[0]
            torch.testing.assert_close(padded[i, :len(s)], alone, atol=1e-5, rtol=0)


def test_per_residue_permutation_exact():
    "Our CharTokenizer ids, mapped through the permutation, are upstream's ids; embedding rows move exactly."
    perm, ours = U.char_permutation(), CharTokenizer()
    for t, s in META['char_singles']:
        assert perm[ours.encode(s, t)].tolist() == U.upstream_char_ids(f'<{t}>{s}<EOS>', t == 'protein')
    assert sorted(perm.tolist()) == list(range(49)) and (perm[:23] == np.arange(23)).all() and perm[48] == 48
    p = parts('char_cos_bf16')
    m = U.upstream_model(p, 'x')
    assert torch.equal(m.wte.weight, p['tensors']['transformer.wte.weight'].float()[torch.from_numpy(perm)])


def test_bpe_adapter_gives_upstream_ids(tokenizer):
    "On models trained with upstream's settings, the adapter gives exactly what upstream's OmniTokenizer gave."
    for (text, kind), ids in zip(META['tokenizers']['texts'], META['tokenizers']['ids']):
        assert tokenizer.encode_text(text, kind == 'prot').tolist() == ids
    tag, seq = META['tokenizers']['texts'][0][0][1:].split('>', 1)
    assert tokenizer.encode(seq[:-len('<EOS>')], tag).tolist() == META['tokenizers']['ids'][0]
    assert tokenizer.decode(META['tokenizers']['ids'][0]) == (tag, seq[:-len('<EOS>')])


def test_release_tokenizer_check(tokenizer):
    "Files whose dummy-prefix piece is not at upstream's literal ids are refused as release files."
    nuc, prot = tokenizer.model_bytes.values()
    with pytest.raises(OmniError, match=r"upstream's code drops \[1, 2, 2037\]"): U.UpstreamBPE(nuc, prot, release=True)


def test_binder_predict_dg(tokenizer, tmp_path):
    "An imported binder folder predicts upstream's dG through predict-dg (our predict.predict_dg, unchanged)."
    from omnibiote_nb.predict import predict_dg
    from omnibiote_nb.cli import main
    tok = tmp_path / 'tok'
    tok.mkdir()
    for f, b in tokenizer.model_bytes.items(): (tok / f).write_bytes(b)
    z = np.load(FIX / 'binder_bpe_bf16.npz')
    with pytest.raises(SystemExit):   # as release files (the default) these stand-ins are refused, exit status 2
        main(['import-upstream', str(FIX / 'binder_bpe_bf16.pt'), '--out', str(tmp_path / 'x'), '--tokenizers', str(tok)])
    for norm in ('upstream', 'layernorm'):
        out = tmp_path / norm
        U.import_upstream(FIX / 'binder_bpe_bf16.pt', out, tok, norm=norm, release=False)
        pred = [predict_dg(p['protein'], p['na'], p['na2'], out, p['na_type']) for p in META['binder_pairs']]
        within(pred, z['dg'], TOL[norm])
    m = U.upstream_model(parts('binder_bpe_bf16'), 'b', tokenizer=tokenizer)
    for i, x in enumerate(inputs(z)):
        with torch.no_grad(): within(m(torch.from_numpy(x.astype(np.int64))[None])[0].numpy(), z[f'h{i}'], 1e-5)


def test_cli_import_then_embed(tmp_path):
    "`omnibiote import-upstream` writes a model folder that `embed` reads; its first-token states are upstream's."
    from omnibiote_nb.cli import main
    from omnibiote_nb.embed import embed
    main(['import-upstream', str(FIX / 'char_cos_bf16.pt'), '--out', str(tmp_path / 'm')])
    assert json.loads((tmp_path / 'm' / 'config.json').read_text())['positions'] == 'cos'
    fasta = tmp_path / 'in.fasta'
    fasta.write_text(''.join(f'>r{i}\n{s}\n' for i, (_, s) in enumerate(META['char_singles'])))
    res = embed(fasta, tmp_path / 'm', tmp_path / 'e.npz', progress=False)
    z = np.load(FIX / 'char_cos_bf16.npz')
    for i in range(len(META['char_singles'])):
        within(res['first'][i], z[f'hs{i}'][0], 1e-5)
        within(res['mean'][i], z[f'hs{i}'][1:-1].mean(0), 1e-5)


def test_refuses_os_system(tmp_path):
    "A file whose pickle would call os.system is refused at the global, before anything runs."
    marker = tmp_path / 'ran'
    evil = b'cos\nsystem\n(S' + repr(f'touch {marker}').encode() + b'\ntR.'
    path = tmp_path / 'evil.pt'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('archive/data.pkl', evil)
        zf.writestr('archive/byteorder', 'little')
    with pytest.raises(OmniError, match='refused global os.system') as e: U.read_upstream(path)
    assert '\n' not in str(e.value) and str(path) in str(e.value)
    assert not marker.exists()
    plain = tmp_path / 'plain.pt'
    plain.write_bytes(pickle.dumps(1))
    with pytest.raises(OmniError, match='not a torch.save zip archive'): U.read_upstream(plain)


def test_compiled_wrapper_is_stand_ins():
    "A torch.compile'd file names dynamo's classes and getattr: they become records, and the wrapped module is found."
    root = U.read_upstream(FIX / 'char_compiled_bf16.pt')
    assert root.qualname == 'torch._dynamo.eval_frame.OptimizedModule'
    assert U.upstream_parts(root, 'c')['kind'] == 'foundation'


def test_refuses_other_globals(tmp_path):
    "Allowed names only: builtins.eval and a torch function outside the list are refused too."
    for mod, name in (('builtins', 'eval'), ('torch', 'load'), ('model', 'Evil')):
        path = tmp_path / f'{name}.pt'
        with zipfile.ZipFile(path, 'w') as zf: zf.writestr('archive/data.pkl', f'c{mod}\n{name}\n.'.encode())
        with pytest.raises(OmniError, match=f'refused global {mod}.{name}'): U.read_upstream(path)


@pytest.mark.parametrize('change,msg', [
    (lambda c, t: c.update(bias=True), 'biases'),
    (lambda c, t: c.update(autoregressive=True), 'causal'),
    (lambda c, t: c.update(position_encoding='learned'), 'learned position'),
    (lambda c, t: t.update({'transformer.h.0.mlp.c_proj.weight': torch.zeros(32, 128)}), '2024 layout'),
    (lambda c, t: t.pop('transformer.h.1.attn.c_proj.weight'), 'missing transformer.h.1.attn.c_proj.weight'),
])
def test_unsupported_layouts(change, msg):
    "Layouts other than the release's are one-line errors naming the file and what it is."
    p = parts('char_cos_bf16')
    change(p['config'], p['tensors'])
    with pytest.raises(OmniError, match=msg) as e: U.upstream_model(p, 'some.pt')
    assert str(e.value).startswith('some.pt: ') and '\n' not in str(e.value)


def test_bpe_model_needs_tokenizers(tmp_path, tokenizer):
    "A BPE file without --tokenizers says what it needs; a per-residue file with them says it needs none."
    with pytest.raises(OmniError, match='genbank-2k.model and uniref-2k.model'): U.import_upstream(FIX / 'binder_bpe_bf16.pt', tmp_path / 'o')
    with pytest.raises(OmniError, match='uses no tokenizer files'): U.upstream_model(parts('char_cos_bf16'), 'c', tokenizer=tokenizer)


def test_finetune_imported(tmp_path):
    "An imported folder fine-tunes like our own (predict.train_dg); the fine-tuned backbone keeps the as-trained positions."
    from omnibiote_nb.predict import train_dg, predict_dg
    U.import_upstream(FIX / 'char_cos_bf16.pt', tmp_path / 'm')
    out = train_dg(tmp_path / 'm', tmp_path / 'dg', preset='test', progress=False, n_records=32)
    assert json.loads((out / 'backbone0' / 'config.json').read_text())['positions'] == 'cos'
    assert np.isfinite(predict_dg('MKVLAAGIK', 'ACGTACGT', None, out))


def test_evaluations_take_an_imported_folder(tmp_path):
    "ProNAB (fine-tuned, frozen probe, random-init control) and JASPAR run on an imported folder as on our own checkpoints."
    from omnibiote_nb.binding import run_binding
    from omnibiote_nb.jaspar import binding_models, specificity, profiles
    U.import_upstream(FIX / 'char_cos_bf16.pt', tmp_path / 'm')
    res = run_binding({'up': {'multi': tmp_path / 'm'}}, tmp_path / 'b', 'test', folds=[0], progress=False)
    assert {'OmniBioTE-up', 'OmniBioTE-up frozen probe', 'OmniBioTE-up random init'} <= set(res.model)
    assert res[res.model.str.startswith('OmniBioTE-up')].pearson.notna().all()
    fold = binding_models(tmp_path / 'b')['OmniBioTE-up']['folds'][0]
    assert json.loads((fold / 'backbone0' / 'config.json').read_text())['positions'] == 'cos'
    ddg = specificity([fold], profiles().query('motif_len <= 12').head(2), rates=(0.1,))
    assert len(ddg) == 16 and np.isfinite(ddg.ddG).all()
