"JASPAR specificity (paper §4.3.2): the ProNAB filter, consensus and mutants, and ΔΔG in the training's units."
import json, numpy as np, pandas as pd, pytest, torch
from omnibiote_nb.core import verify, bundled
from omnibiote_nb import pronab
from omnibiote_nb.jaspar import (load_filter, load_jaspar, pronab_proteins, profiles, filter_counts, consensus, revcomp, mutate,
                                 mutants, mutant_table, specificity, site_input, binding_models, _scores, _rng, FILTER, RATES,
                                 load_dbd, dbd_hits, kept_residues, best_window, protein_window, windows, crop_table, crop_summary, CROPS)

@pytest.fixture(scope='module')
def table(): return load_filter()

def test_bundle_matches_manifest(table):
    assert verify([FILTER]) == []
    m = json.loads(bundled(FILTER, 'profiles.tsv.gz').with_name('manifest.json').read_text())
    assert {'name', 'description', 'status', 'status_note', 'source', 'licence', 'citation', 'subset_rule', 'seed', 'files', 'full_size'} <= set(m)
    assert m['files'][0]['records'] == len(table) == (load_jaspar().tax_group == 'vertebrates').sum()

def test_kept_are_single_protein_and_not_in_pronab(table):
    kept, j = table[table.kept], load_jaspar().set_index('matrix_id')
    assert len(kept) > 300 and (kept.n_chains == 1).all() and not kept.name.str.contains('::').any()
    seqs = set(j.protein_seqs[kept.matrix_id])
    assert '' not in seqs
    assert not seqs & set(pronab_proteins()) and not seqs & set(pronab.load_pronab().protein)
    assert (kept.max_score <= pronab.THRESHOLD).all()
    c = filter_counts(table)
    assert c.profiles.iloc[-1] == len(kept) and c.removed.sum() == len(table) - len(kept) and (c.removed.iloc[1:] > 0).all()

@pytest.mark.parametrize('step,k', [('kept', 3), ('homolog in ProNAB', 2)])
def test_scores_recomputed(table, step, k):
    "A sample of kept profiles scores at most 1.5 against every ProNAB protein, and a sample of removed homologs above it."
    ref, seqs = pronab_proteins(), load_jaspar().set_index('matrix_id').protein_seqs
    for r in table[table.step == step].sample(k, random_state=1).itertuples():
        s = _scores(seqs[r.matrix_id], ref)
        assert abs(s.max() - r.max_score) < 1e-5 and pronab.protein_id(ref[int(s.argmax())]) == r.best_pronab
        assert (s.max() <= pronab.THRESHOLD) == (step == 'kept')

def test_consensus_and_revcomp(table):
    assert (table.pfm.map(consensus) == table.consensus).all()
    assert consensus('{"A":[1,0],"C":[1,0],"G":[0,0],"T":[0,3]}') == 'AT'
    assert revcomp('AACCGT') == 'ACGGTT'
    s = ''.join(np.random.default_rng(0).choice(list('ACGT'), 500))
    assert revcomp(revcomp(s)) == s and all({a, b} in ({'A', 'T'}, {'C', 'G'}) for a, b in zip(s, revcomp(s)[::-1]))

def test_mutants_unique_and_rate(table):
    kept = table[table.kept].reset_index(drop=True)
    mt = mutant_table(kept.head(60))
    g = mt.groupby(['matrix_id', 'rate'])
    assert set(g.size()) == {8} and g.mutant.nunique().min() == 8 and (mt.mutant != mt.consensus).all()
    assert (mt.changes == [sum(a != b for a, b in zip(m, c)) for m, c in zip(mt.mutant, mt.consensus)]).all()
    short = 'ACGTA'  # at 5% most draws of a 5-mer are the consensus itself: still 8 distinct mutants
    assert len(set(mutants(short, 0.05, _rng(0, 'x', 0.05)))) == 8
    rng = np.random.default_rng(3)
    for r in RATES:
        d = np.array([[a != b for a, b in zip(mutate('ACGT' * 5, r, rng), 'ACGT' * 5)] for _ in range(3000)])
        assert abs(d.mean() - r) < 4 * np.sqrt(r * (1 - r) / d.size)

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    from omnibiote_nb.model import OmniBioTE, preset
    from omnibiote_nb.finetune import Finetuner
    from omnibiote_nb.binding import tokenizer_for
    tok = tokenizer_for(49); torch.manual_seed(0)
    m = Finetuner([OmniBioTE(preset('tiny', tok.vocab_size, max_len=512))], pad_id=tok.pad_id).eval()
    with torch.no_grad(): m.head.weight.normal_(0, 0.05)
    p = profiles(); p = p[p.protein.str.len() <= 300].head(3).reset_index(drop=True)
    return m, tok, p, tmp_path_factory.mktemp('jaspar')

def test_ddG_in_training_units(tiny):
    "ΔΔG scales with the training std and ignores the mean: it would catch dropping the de-standardisation (mistake #4)."
    from omnibiote_nb.finetune import save_finetuned
    m, tok, p, tmp = tiny
    with torch.no_grad(): m.y_mean.fill_(0.0); m.y_std.fill_(1.0)
    unit = specificity([m], p, rates=(0.05, 0.5))
    with torch.no_grad(): m.y_mean.fill_(-9.0); m.y_std.fill_(3.0)
    real = specificity([m], p, rates=(0.05, 0.5))
    assert unit.ddG.abs().max() > 1e-4
    np.testing.assert_allclose(real.ddG, 3 * unit.ddG, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(real.dG_consensus, 3 * unit.dG_consensus - 9, rtol=1e-4, atol=1e-5)
    # the same numbers from the saved folder (statistics read from what training wrote), and by hand
    d = save_finetuned(m, tmp/'fold0')
    pd.testing.assert_frame_equal(specificity([d], p, rates=(0.05, 0.5)), real, check_exact=False, rtol=1e-5)
    j = json.loads((d/'finetune.json').read_text()); assert j['y_std'] == [3.0] and j['y_mean'] == [-9.0]
    from omnibiote_nb.finetune import pad
    m.eval()
    def by_hand(s):
        idx, doc = pad([site_input(tok, p.protein[0], s, m.backbones[0].config.max_len)[0]], tok.pad_id)
        with torch.no_grad(): raw = float(m.head(m.backbones[0](idx, doc_ids=doc)[:, 0])[0, 0])
        return raw * j['base_width'] / m.backbones[0].config.n_embd * j['y_std'][0] + j['y_mean'][0]
    r = real[(real.matrix_id == p.matrix_id[0])]
    np.testing.assert_allclose(r.ddG, [by_hand(s) - by_hand(p.consensus[0]) for s in r.mutant], rtol=1e-3, atol=1e-4)

def test_folds_and_mutants_paired(tiny):
    m, tok, p, _ = tiny
    res = specificity([m, m], p, rates=(0.1,))
    a, b = res[res.fold == 0].reset_index(drop=True), res[res.fold == 1].reset_index(drop=True)
    assert (a.mutant == b.mutant).all() and np.allclose(a.ddG, b.ddG)
    assert set(res.groupby(['fold', 'matrix_id']).size()) == {8}

def test_same_input_as_training(tiny):
    "The site is encoded by binding.pair_input: protein, strand, reverse complement, cut as the training meta says."
    m, tok, p, _ = tiny
    ids = site_input(tok, p.protein[0], 'ACGTTG', 40, 4, crop='cterm')[0]
    assert len(ids) == 40 and tok.decode_many(ids) == [('protein', p.protein[0][:40 - 2 * 6 - 2]), ('DNA', 'ACGT'), ('DNA', 'CAAC')]
    m.meta = dict(max_tokens=64, max_na=6)
    try: res = specificity([m], p, rates=(0.1,))
    finally: del m.meta
    assert set(res.matrix_id) == set(p.matrix_id[p.motif_len <= 6])

# ---------------------------------------------------------------- which part of the protein the input keeps
from pathlib import Path
from omnibiote_nb.core import OmniError, REPO
PFAM = REPO.parent/'shared'/'data'/'jaspar'/'inference_tool'/'vertebrates.pfam.json.gz'

def test_dbd_hits_lie_in_their_proteins():
    d, seqs = load_dbd(), load_jaspar().set_index('matrix_id').protein_seqs
    assert len(d) > 1000 and (d.start >= 0).all() and (d.end > d.start).all()
    assert (d.end <= d.matrix_id.map(seqs).str.len()).all()
    p = profiles()
    assert p.dbd.map(len).gt(0).mean() > 0.9  # most kept factors have a Pfam DNA-binding domain
    zf = d[d.family == 'zf-C2H2'].head(50)   # a C2H2 zinc finger is C..C...H..H: both cysteines and histidines fall inside each hit
    assert all(s[a:b].count('C') >= 2 and s[a:b].count('H') >= 2 for s, a, b in zip(zf.matrix_id.map(seqs), zf.start, zf.end))

@pytest.mark.skipif(not PFAM.exists(), reason='the shared JASPAR inference-tool files are not on this machine')
def test_dbd_bundle_is_the_pfam_file():
    pd.testing.assert_frame_equal(dbd_hits(PFAM), load_dbd(), check_dtype=False)

def test_windows_cover_the_domain():
    assert best_window(np.array([0, 1, 1, 0, 0, 0, 0, 0]), 4) == 0   # the domain in the middle of the window
    assert best_window(np.array([0, 0, 0, 0, 0, 1, 1, 1, 1]), 4) == 5
    assert protein_window('A' * 100, 30, [(60, 70)]) == (50, 80, 'pfam')   # centred on the domain
    assert protein_window('A' * 100, 30, [(60, 70)], crop='cterm') == (0, 30, 'cterm')
    assert protein_window('A' * 20, 30, [(5, 8)]) == (0, 20, 'whole')
    assert protein_window('A' * 40 + 'KRKRK' + 'A' * 40, 10) == (37, 47, 'basic')  # no domain known: the most basic window
    with pytest.raises(OmniError, match='expected one of dbd, cterm'): protein_window('AAAA', 2, crop='nterm')

def test_dbd_crop_feeds_the_window_to_pair_input(tiny):
    from omnibiote_nb.binding import pair_input
    _, tok, _, _ = tiny
    f = profiles().query('protein.str.len() > 400').iloc[0]
    W = kept_residues(tok, f.protein, f.consensus, 80)
    assert W == 80 - 2 * len(f.consensus) - 6
    cterm = site_input(tok, f.protein, f.consensus, 80, crop='cterm')[0]
    assert (cterm == pair_input(tok, f.protein, f.consensus, revcomp(f.consensus), 'DNA', 80)[0]).all()  # the old behaviour
    a, b, how = protein_window(f.protein, W, f.dbd)
    x = site_input(tok, f.protein, f.consensus, 80, regions=f.dbd)[0]
    assert len(x) == 80 and tok.decode_many(x)[0] == ('protein', f.protein[a:b]) and how == 'pfam'
    inside = [sum(max(0, min(e, k + W) - max(s, k)) for s, e in f.dbd) for k in range(len(f.protein) - W + 1)]
    assert sum(max(0, min(e, b) - max(s, a)) for s, e in f.dbd) == max(inside) > inside[0]  # the most domain residues, more than the N-terminus

def test_crop_keeps_more_of_the_domains():
    from omnibiote_nb.binding import tokenizer_for
    tok, p = tokenizer_for(49), profiles()
    t = crop_table(tok, p, 128, 32)
    known = t[t.dbd_residues > 0]
    assert (known.dbd_kept_dbd >= known.dbd_kept_cterm - 1e-12).all()
    assert (known.dbd_kept_dbd >= 1).sum() > 2 * (known.dbd_kept_cterm >= 1).sum()
    assert (t.crop_how == 'basic').eq((t.frac_cut > 0) & (t.dbd_residues == 0)).all()
    s = crop_summary(t)
    assert s['factors'] == len(p) and s['heuristic window (cut, no Pfam DBD)'] == p.dbd.map(len).eq(0).sum()
    np.testing.assert_allclose(t.frac_cut, 1 - t.kept / p.protein.str.len().to_numpy())

def test_specificity_records_the_crop(tiny):
    m, tok, p, _ = tiny
    m.meta = dict(max_tokens=64, max_na=6)
    try:
        q = profiles().query('motif_len <= 6 and protein.str.len() > 300').head(2).reset_index(drop=True)
        res = {c: specificity([m], q, rates=(0.1,), crop=c) for c in CROPS}
    finally: del m.meta
    for c, r in res.items():
        assert (r.crop == c).all() and {'crop_how', 'window_start', 'window_end', 'protein_len'} <= set(r.columns)
        assert (r.groupby('matrix_id').window_start.nunique() == 1).all()  # one window per profile, for every mutant
    assert set(res['cterm'].crop_how) == {'cterm'} and (res['cterm'].window_start == 0).all()
    assert set(res['dbd'].crop_how) <= {'pfam', 'basic'} and (res['dbd'].window_start > 0).any()
    assert not np.allclose(res['dbd'].dG_consensus, res['cterm'].dG_consensus)  # the option changes the input
