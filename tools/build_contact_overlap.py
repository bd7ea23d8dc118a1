"""Bundle how the contact proteins overlap ProNAB: data_manifests/pronab_homology/contact_overlap.tsv.gz.

    python tools/build_contact_overlap.py [--workers 2] [--cache runs/attention_probe/pronab_overlap.csv]

(`--cache`: the same table as computed by 20_attention_probe's `overlap_table` in a run directory, bundled as it is.)

For each distinct protein of the bundled protein-nucleic-acid complexes (14_contacts' `contact_data`): whether it is a
ProNAB protein (exact sequence), its best normalised BLOSUM62 score against the ProNAB proteins (pronab.similarity,
the homology rule of 10_pronab) and whether that makes it a homolog (score above pronab.THRESHOLD). The attention-map
probe (20_attention_probe) reads it to report its gain on the contact proteins ProNAB never showed the dG models. It is
about 210,000 alignments (500 CPU-seconds), too slow for `make reproduce`, so it is computed once here and bundled.
Run it after `pronab.build_homology`, which rewrites the manifest of the same folder.
"""
import argparse, time
from omnibiote_nb.core import data_dir, file_hash, read_json, write_json, atomic_write
from omnibiote_nb.contacts import contact_data
from omnibiote_nb.attention_probe import pronab_overlap
from omnibiote_nb.pronab import THRESHOLD

NAME = 'contact_overlap.tsv.gz'
DESCRIPTION = ('one row per distinct protein of the protein_na_complexes bundle: pid (pronab.protein_id), exact (a ProNAB '
               'protein), aligned (ProNAB proteins aligned: those whose score bound could exceed the threshold), max_score '
               '(best normalised BLOSUM62 score), homolog (exact or max_score above the threshold), partner_len')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--cache', default=None, help="overlap_table's CSV from a run directory, bundled without aligning again")
    a = ap.parse_args()
    columns = ['pid', 'exact', 'aligned', 'max_score', 'homolog', 'partner_len']
    if a.cache:
        import pandas as pd
        table = pd.read_csv(a.cache)[columns]
        how = f'read from {a.cache}, as computed there by attention_probe.overlap_table'
    else:
        cx = contact_data()
        t0 = time.time()
        ov = pronab_overlap(cx.protein, workers=a.workers, progress=True)
        ov['pid'] = cx.drop_duplicates('protein').set_index('protein').pid.loc[ov.protein].to_numpy()
        ov['partner_len'] = ov.partner.str.len()
        table = ov[columns]
        how = f'aligned in {time.time() - t0:.0f} s with {a.workers} processes'
    folder = data_dir()/'pronab_homology'
    path = folder/NAME
    with atomic_write(path) as f:
        table.to_csv(f, sep='\t', index=False, compression={'method': 'gzip', 'mtime': 0})
    m = read_json(folder/'manifest.json')
    entry = dict(path=NAME, bytes=path.stat().st_size, sha256=file_hash(path), records=len(table), description=DESCRIPTION)
    m['files'] = [f for f in m['files'] if f['path'] != NAME] + [entry]
    note = f'contact_overlap.tsv.gz: {len(table)} contact proteins against ProNAB, {how} (tools/build_contact_overlap.py, threshold {THRESHOLD}).'
    m['status_note'] = m['status_note'].split(' contact_overlap.tsv.gz:')[0] + ' ' + note
    write_json(folder/'manifest.json', m)
    md = (folder/'MANIFEST.md').read_text().split('\n## Contact proteins against ProNAB')[0].rstrip('\n')
    md += (f'\n\n## Contact proteins against ProNAB\n\n`{NAME}` ({entry["bytes"]:,} bytes, {len(table)} rows, sha256 '
           f'`{entry["sha256"][:16]}…`): {DESCRIPTION}. {note} {int(table.exact.sum())} are ProNAB proteins, '
           f'{int(table.homolog.sum())} are ProNAB proteins or their homologs.\n')
    with atomic_write(folder/'MANIFEST.md', 'w') as f: f.write(md)
    print(f'wrote {path}: {len(table)} proteins, {int(table.exact.sum())} exact, {int(table.homolog.sum())} homologs')

if __name__ == '__main__':
    main()
