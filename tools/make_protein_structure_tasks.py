#!/usr/bin/env python3
"""Build data_manifests/protein_structure_tasks/ (per-residue structure labels of the protein chains) from the gathered complexes, once, by a maintainer.

    python tools/make_protein_structure_tasks.py --src RAW_DATA --out data_manifests

RAW_DATA is the folder of the gathered public data (with protein_na_complexes/ in it); nothing reads it at run time.

Reads every trimmed complex of protein_na_complexes (429 PDB files), keeps the protein chain only, and writes per residue:
the C-beta coordinates (C-alpha for glycine; empty where a non-glycine residue has no C-beta), the relative solvent
accessibility from Biopython's Shrake-Rupley on the protein chain alone (the nucleic acids removed), and the 8-state DSSP
code from mdtraj's DSSP implementation (PyPI `mdtraj`, needed by this tool only: `pip install mdtraj`). Per chain: the
sequence, a protein id, the 10 folds of the ProNAB homology rule (omnibiote_nb.pronab.make_folds with these chains' own
BLOSUM62 pairs) and each chain's best normalised score against CB513 and TS115. Every gzip has mtime 0: a rerun on
the same source gives byte-identical files.
"""
from __future__ import annotations
import argparse, gzip, io, json, os, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO/'tools')]
from omnibiote_nb.core import log  # noqa: E402
from omnibiote_nb.structures import read_structure, protein_residues, AA3  # noqa: E402
from omnibiote_nb.pronab import aligner, protein_id, make_folds, check_folds, THRESHOLD, _read_tsv  # noqa: E402
from curate_data import finish, write_gz, src_entry  # noqa: E402

NAME = 'protein_structure_tasks'
PAIR_MIN = 0.5          # chain pairs below this normalised score are not listed (none of them matters to the 1.5 rule)
RSA_TABLE = 'Wilke'     # Tien et al. 2013 theoretical maximum ASA, Bio.PDB.SASA's residue_max_acc['Wilke']

def cb_coords(res) -> np.ndarray:
    "C-beta coordinates (C-alpha for glycine), NaN where a non-glycine residue has no C-beta: (L, 3)."
    out = np.full((len(res), 3), np.nan)
    for i, r in enumerate(res):
        atom = 'CA' if r.get_resname().strip() == 'GLY' else 'CB'
        if atom in r: out[i] = r[atom].coord
    return out

def rsa(res) -> np.ndarray:
    "Relative solvent accessibility of each residue, Shrake-Rupley on these residues alone; NaN for unknown residues."
    from Bio.PDB.Structure import Structure
    from Bio.PDB.Model import Model
    from Bio.PDB.Chain import Chain
    from Bio.PDB.SASA import ShrakeRupley
    from Bio.Data.PDBData import residue_sasa_scales, protein_letters_1to3
    s, m, c = Structure('s'), Model(0), Chain('A')
    s.add(m); m.add(c)
    for r in res: c.add(r.copy())
    ShrakeRupley().compute(s[0], level='R')
    scale = residue_sasa_scales[RSA_TABLE]
    out = []
    for r in c:
        three = protein_letters_1to3.get(AA3[r.get_resname().strip()], '').upper()
        out.append(r.sasa / scale[three] if three in scale else np.nan)
    return np.array(out)

def dssp8(res) -> list[str]:
    "8-state DSSP codes (H B E G I T S C, loop as C) from mdtraj on these residues alone; '' where mdtraj gives none."
    import mdtraj
    from Bio.PDB import PDBIO
    from Bio.PDB.Structure import Structure
    from Bio.PDB.Model import Model
    from Bio.PDB.Chain import Chain
    s, m, c = Structure('s'), Model(0), Chain('A')
    s.add(m); m.add(c)
    for i, r in enumerate(res):
        r = r.copy(); r.id = (' ', i + 1, ' '); c.add(r)
    io_ = PDBIO(); io_.set_structure(s)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'chain.pdb'; io_.save(str(p))
        t = mdtraj.load_pdb(str(p), standard_names=False)
        codes = mdtraj.compute_dssp(t, simplified=False)[0]
    if len(codes) != len(res): raise SystemExit(f'mdtraj read {len(codes)} residues, expected {len(res)}')
    return ['' if x == 'NA' else 'C' if x == ' ' else x for x in codes]

def read_test_sets(src) -> dict:
    "CB513 and TS115 sequences from the bundled protein_tasks (the test sets this data's 8-state labels are scored on)."
    out = {}
    for name in ('CB513', 'TS115'):
        t = pd.read_csv(REPO/f'data_manifests/protein_tasks/secondary_structure/{name}_dssp3_dssp8.tsv.gz', sep='\t')
        out[name] = t.sequence.tolist()
    return out

def _clean(seq, al) -> str:
    "Letters outside the substitution matrix's alphabet (U, O, lower case) as X."
    ok = set(al.substitution_matrix.alphabet)
    return ''.join(c if c in ok else 'X' for c in seq.upper())

def _best_row(args) -> np.ndarray:
    a, seqs_b, start = args
    al = aligner()
    a, seqs_b = _clean(a, al), [_clean(b, al) for b in seqs_b]
    out = np.full(len(seqs_b), -np.inf)
    for j in range(start, len(seqs_b)): out[j] = al.score(a, seqs_b[j]) / max(len(a), len(seqs_b[j]))
    return out

def normalised_scores(seqs_a, seqs_b, same=False, workers=2) -> np.ndarray:
    "Normalised BLOSUM62 global scores (score / longer length) of every pair (upper triangle only when `same`), in `workers` processes."
    import multiprocessing as mp
    with mp.get_context('fork').Pool(workers) as pool:
        return np.stack(pool.map(_best_row, [(a, list(seqs_b), i + 1 if same else 0) for i, a in enumerate(seqs_a)], chunksize=4))

def chain_rows(args) -> tuple[list[str], dict]:
    "The residue lines and the chain row of one complex (cached as JSON in `cache`, so an interrupted build resumes)."
    path, r, cache = args
    hit = cache/f"{r['id']}.json" if cache else None
    if hit and hit.exists(): return tuple(json.loads(hit.read_text()))
    m = read_structure(path)
    res = protein_residues(m[r['protein_chain']])
    seq = ''.join(AA3[x.get_resname().strip()] for x in res)
    xyz, acc, ss = cb_coords(res), rsa(res), dssp8(res)
    fmt = lambda v, k: '' if not np.isfinite(v) else f'{v:.{k}f}'
    rows = [f"{r['id']}\t{i}\t{seq[i]}\t{fmt(xyz[i, 0], 2)}\t{fmt(xyz[i, 1], 2)}\t{fmt(xyz[i, 2], 2)}\t{fmt(acc[i], 3)}\t{ss[i]}\n"
            for i in range(len(res))]
    chain = dict(complex_id=r['id'], pid=protein_id(seq), length=len(seq), missing_cb=int(np.isnan(xyz[:, 0]).sum()), sequence=seq)
    if hit: hit.write_text(json.dumps([rows, chain]))
    return rows, chain

def build(src: Path, out: Path, workers=2, cache=None):
    s = src/'protein_na_complexes'
    cx = [json.loads(l) for l in gzip.open(s/'complexes.jsonl.gz', 'rt')]
    d = out/NAME
    d.mkdir(parents=True, exist_ok=True)
    if cache: Path(cache).mkdir(parents=True, exist_ok=True)
    rows, chains, t0 = ['complex_id\tindex\tresidue\tx\ty\tz\trsa\tdssp8\n'], [], time.time()
    import multiprocessing as mp
    with mp.get_context('fork').Pool(workers) as pool:
        for lines, chain in pool.imap(chain_rows, [(s/r['structure_file'], r, Path(cache) if cache else None) for r in cx]):
            rows += lines
            chains.append(chain)
    log.info(f'{len(cx)} chains, {len(rows) - 1} residues in {time.time() - t0:.0f} s')
    ch = pd.DataFrame(chains)
    uniq = ch.drop_duplicates('pid').reset_index(drop=True)
    t0 = time.time()
    S = normalised_scores(uniq.sequence.tolist(), uniq.sequence.tolist(), same=True, workers=workers)
    i, j = np.nonzero(S >= PAIR_MIN)
    pairs = pd.DataFrame(dict(pid_a=uniq.pid.to_numpy()[i], pid_b=uniq.pid.to_numpy()[j], score=S[i, j].round(6)))
    log.info(f'{len(uniq)} distinct chains aligned all against all in {time.time() - t0:.0f} s; {len(pairs)} pairs >= {PAIR_MIN}')
    t0 = time.time()
    for name, seqs in read_test_sets(src).items():
        best = normalised_scores(uniq.sequence.tolist(), seqs, workers=workers).max(1)
        ch[f'max_score_{name}'] = ch.pid.map(dict(zip(uniq.pid, best.round(6))))
    log.info(f'chains against CB513 and TS115 in {time.time() - t0:.0f} s')
    folds = make_folds(ch.assign(protein=ch.sequence), 10, 0, pairs, THRESHOLD)
    if problems := check_folds(ch.assign(protein=ch.sequence), folds, pairs): raise SystemExit(f'folds leak: {problems[0]}')
    ch = ch.merge(folds[['pid', 'fold']], on='pid', how='left')
    write_gz(d/'residues.tsv.gz', ''.join(rows))
    write_gz(d/'chains.tsv.gz', ch[['complex_id', 'pid', 'length', 'missing_cb', 'fold', 'max_score_CB513', 'max_score_TS115', 'sequence']]
             .to_csv(sep='\t', index=False, lineterminator='\n'))
    write_gz(d/'pairs.tsv.gz', pairs.sort_values(['pid_a', 'pid_b']).to_csv(sep='\t', index=False, lineterminator='\n'))
    files = {'residues.tsv.gz': 'per protein residue of each chain (0-based index in the chain read by omnibiote_nb.structures.protein_residues): letter; '
                                'C-beta x, y, z in Å (C-alpha for glycine; empty where a non-glycine residue lacks C-beta); relative solvent accessibility '
                                f'(Shrake-Rupley SASA of the protein chain alone / the {RSA_TABLE} maximum; empty for unknown residues); 8-state DSSP '
                                '(mdtraj.compute_dssp, loop written C; empty where mdtraj gives none)',
             'chains.tsv.gz': 'one row per chain: complex_id, pid (protein_id of the sequence), length, residues without C-beta, fold (0-9; -1: a '
                              f'homolog above {THRESHOLD} exists, always in training), best normalised BLOSUM62 score against CB513 and TS115, sequence',
             'pairs.tsv.gz': f'distinct chain sequences: every pair with normalised BLOSUM62 global score >= {PAIR_MIN} (pid_a, pid_b, score)'}
    n_fold = int((ch.fold >= 0).sum())
    m = {'name': NAME,
         'description': 'Per-residue structure labels of the 429 protein chains of protein_na_complexes, computed on the protein chain alone: '
                        'C-beta coordinates (residue-residue contacts), relative solvent accessibility (Shrake-Rupley) and 8-state DSSP (mdtraj). '
                        'DERIVED substitutes for TAPE contact prediction and ProteinGLUE solvent accessibility, whose own data are not available offline.',
         'status': 'complete',
         'status_note': f'all {len(ch)} chains ({ch.pid.nunique()} distinct sequences, {len(rows) - 1} residues) of protein_na_complexes; '
                        f'{n_fold} chains in the 10 test folds, {len(ch) - n_fold} always in training (ProNAB homology rule, threshold {THRESHOLD}). '
                        'The chains come from protein-nucleic-acid complexes, so solvent accessibility is of the chain without its partner strands.',
         'source': [src_entry('shrikantcombio/PRDBv3_dataset', '33ac3d4d0c5c87212e5d3887ac7ee1fdb10ffa45', 'nr_288_PRDBv3.0/'),
                    src_entry('haddocking/Prot-DNABenchmark', 'd5bd151a68ff610a5454489d8df4c962fe29f541', '')],
         'derived_from': 'protein_na_complexes (all 429 trimmed structures, model 1)', 'code': 'tools/make_protein_structure_tasks.py',
         'tools': dict(biopython=__import__('Bio').__version__, mdtraj=__import__('mdtraj').__version__, rsa_max_table=RSA_TABLE),
         'licence': 'PDB coordinates CC0 (wwPDB); derived labels under the same terms.',
         'citation': 'Berman H.M. et al., The Protein Data Bank, NAR 28:235 (2000); Shrake A. & Rupley J.A., J. Mol. Biol. 79:351 (1973); '
                     'Tien M.Z. et al., PLoS ONE 8:e80635 (2013); Kabsch W. & Sander C., Biopolymers 22:2577 (1983); McGibbon R.T. et al., MDTraj, Biophys. J. 109:1528 (2015).',
         'subset_rule': 'every chain, every residue; no random choice (folds: make_folds seed 0).', 'seed': 0, 'full_size': []}
    finish(out, m, files)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--src', required=True, type=Path, help='folder holding protein_na_complexes/ (complexes.jsonl.gz, structures/)')
    ap.add_argument('--out', default=REPO/'data_manifests', type=Path)
    ap.add_argument('--workers', default=2, type=int)
    ap.add_argument('--cache', default=None, type=Path, help='folder for per-chain results, so an interrupted build resumes')
    a = ap.parse_args(argv)
    build(a.src, a.out, a.workers, a.cache)

if __name__ == '__main__': main()
