#!/usr/bin/env python3
"""Add the contact task's derived files to data_manifests/protein_na_complexes/contacts/, once, by a maintainer.

    .venv/bin/python tools/build_contact_data.py --src RAW_DATA --out data_manifests

RAW_DATA is the folder of the gathered public data (with protein_na_complexes/ in it); nothing reads it at run time.

Writes
- contacts/homology_pairs.tsv.gz: the all-against-all BLOSUM62 global alignment (omnibiote_nb.pronab.aligner, the rule
  of 10_pronab) of the distinct protein sequences of the 429 complexes, as read from the structures (the sequences of
  min_distances.tsv.gz, which the contact task uses); every pair with normalised score >= pronab.PAIR_MIN;
- contacts/1R4O_A_C-D.pdb.gz: the trimmed structure of the glucocorticoid receptor DNA-binding domain (two C4 zinc
  fingers) on DNA, copied from --src, for the contact example (Figure 2d).
It then adds (or replaces) its own entries in manifest.json (files under contacts/, key 'contacts') and its own
section of MANIFEST.md, leaving everything else as it was. gzip with mtime 0: a rerun gives byte-identical files.
"""
from __future__ import annotations
import argparse, gzip, json, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import numpy as np, pandas as pd  # noqa: E402
from omnibiote_nb.core import atomic_write, write_json, file_hash, log  # noqa: E402
from omnibiote_nb.pronab import all_scores, normalise, protein_id, PAIR_MIN, GAP_OPEN, GAP_EXTEND  # noqa: E402

NAME, SUB = 'protein_na_complexes', 'contacts'
EXAMPLE = '1R4O_A_C-D'
BEGIN, END = '<!-- contacts: begin (tools/build_contact_data.py) -->', '<!-- contacts: end -->'

def write_gz(path, text: str):
    with atomic_write(path) as f, gzip.GzipFile(filename='', mode='wb', compresslevel=9, fileobj=f, mtime=0) as g:
        g.write(text.encode())

def proteins(d: Path) -> pd.Series:
    "Distinct protein sequences of the complexes (read from the structures), indexed by pid, in pid order."
    md = pd.read_csv(d/'min_distances.tsv.gz', sep='\t', dtype={'resid': str})
    seqs = md.groupby('complex_id', sort=False).residue.agg(''.join).drop_duplicates()
    return pd.Series(seqs.values, index=seqs.map(protein_id).values).sort_index()

def homology_pairs(seqs: pd.Series, workers=2) -> tuple[pd.DataFrame, float]:
    t = time.time(); S = all_scores(seqs.tolist(), workers=workers); took = time.time() - t
    N = normalise(S, seqs.str.len().to_numpy())
    i, j = np.triu_indices(len(seqs), 1); keep = N[i, j] >= PAIR_MIN
    pid = seqs.index.to_numpy()
    pairs = pd.DataFrame(dict(pid_a=pid[i[keep]], pid_b=pid[j[keep]], raw=S[i[keep], j[keep]].astype(int), score=N[i[keep], j[keep]].round(6)))
    return pairs, took

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--src', type=Path, required=True)
    ap.add_argument('--out', type=Path, default=REPO/'data_manifests')
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args(argv)
    d = a.out/NAME; (d/SUB).mkdir(parents=True, exist_ok=True)
    seqs = proteins(d)
    pairs, took = homology_pairs(seqs, a.workers)
    log.info(f'{len(seqs)} proteins, {len(seqs) * (len(seqs) - 1) // 2} pairs aligned in {took:.0f} s; {len(pairs)} with score >= {PAIR_MIN}')
    write_gz(d/SUB/'homology_pairs.tsv.gz', pairs.to_csv(sep='\t', index=False, lineterminator='\n'))
    with atomic_write(d/SUB/f'{EXAMPLE}.pdb.gz') as f: f.write((a.src/NAME/'structures'/f'{EXAMPLE}.pdb.gz').read_bytes())
    described = {f'{SUB}/homology_pairs.tsv.gz': (len(pairs), f'derived: BLOSUM62 global alignment (gap open {GAP_OPEN}, extend {GAP_EXTEND}) of the {len(seqs)} '
                 f'distinct protein sequences of min_distances.tsv.gz, all against all; every pair (pid_a < pid_b, pid = pronab.protein_id) with '
                 f'normalised score (raw / longer length) >= {PAIR_MIN}: raw, score'),
                 f'{SUB}/{EXAMPLE}.pdb.gz': (1, 'trimmed PDB complex (model 1, no hydrogens): glucocorticoid receptor DNA-binding domain (two C4 zinc fingers) '
                 'on its DNA site, the contact example of Figure 2d')}
    m = json.loads((d/'manifest.json').read_text())
    m['files'] = [f for f in m['files'] if not f['path'].startswith(SUB + '/')]
    m['files'] += [dict(path=p, bytes=(d/p).stat().st_size, sha256=file_hash(d/p), records=n, description=desc) for p, (n, desc) in described.items()]
    m['contacts'] = dict(code='tools/build_contact_data.py', call=f'build_contact_data.py --workers {a.workers}', proteins=len(seqs),
                         pairs_aligned=len(seqs) * (len(seqs) - 1) // 2, seconds=round(took), example=EXAMPLE,
                         note='homology pairs for contacts.contact_folds (the 10_pronab rule); the example structure for Figure 2d')
    write_json(d/'manifest.json', m)
    text = (d/'MANIFEST.md').read_text()
    if BEGIN in text: text = text[:text.index(BEGIN)].rstrip('\n') + '\n' + text[text.index(END) + len(END):].lstrip('\n')
    rows = [f"| {p} | {(d/p).stat().st_size:,} | {n} | `{file_hash(d/p)[:16]}…` | {desc} |" for p, (n, desc) in described.items()]
    section = [BEGIN, '## Contact task (`contacts/`, tools/build_contact_data.py)', '',
               f'Built from the bundled `min_distances.tsv.gz` (sequences) and `{NAME}/structures/{EXAMPLE}.pdb.gz` of the gathered data (--src). '
               f'{len(seqs)} distinct proteins, {len(seqs) * (len(seqs) - 1) // 2:,} pairs aligned in {took:.0f} s with {a.workers} processes; '
               'the folds of omnibiote_nb.contacts read these pairs instead of aligning at run time.', '',
               '| file | bytes | records | sha256 | description |', '|---|---|---|---|---|', *rows, END, '']
    (d/'MANIFEST.md').write_text(text.rstrip('\n') + '\n\n' + '\n'.join(section))
    return 0

if __name__ == '__main__': sys.exit(main())
