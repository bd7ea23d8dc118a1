#!/usr/bin/env python3
"""Build data_manifests/ (the bundled real data) from a copy of the project's shared data, once, by a maintainer.

    .venv/bin/python tools/curate_data.py --src /path/to/gathered/data --out data_manifests

Every subset is chosen by a stated rule with a fixed seed, every gzip is written with mtime 0, so a rerun on the same
source gives byte-identical files. Each dataset folder gets manifest.json (read by omnibiote_nb.core.verify/download)
and MANIFEST.md. The package never reads --src; it reads only what this tool writes.
"""
from __future__ import annotations
import argparse, csv, gzip, io, json, random, shutil, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from omnibiote_nb.core import atomic_write, write_json, file_hash, log  # noqa: E402
from omnibiote_nb.structures import min_distances  # noqa: E402

SEED = 0
GH = 'https://raw.githubusercontent.com/{repo}/{commit}/{path}'

def src_entry(repo, commit, path): return {'repository': repo, 'path': path, 'commit': commit, 'url': GH.format(repo=repo, commit=commit, path=path)}

# ---------------------------------------------------------------- writing
def write_gz(path, text: str):
    "gzip -9 with no name and mtime 0: the same text always gives the same bytes."
    with atomic_write(path) as f, gzip.GzipFile(filename='', mode='wb', compresslevel=9, fileobj=f, mtime=0) as g:
        g.write(text.encode())

def copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(dst) as f: f.write(Path(src).read_bytes())

def gz_lines(p): return gzip.open(p, 'rt', newline='').read().splitlines(keepends=True)

def sample_idx(n, k, rng):
    "k of range(n) at random (all if n <= k), in their original order."
    return list(range(n)) if n <= k else sorted(rng.sample(range(n), k))

def count_records(p: Path) -> int:
    name = p.name.removesuffix('.gz')
    if p.suffix != '.gz' and not name.endswith(('.tsv', '.csv')): return 1
    lines = gz_lines(p) if p.suffix == '.gz' else p.read_text().splitlines()
    if name.endswith(('.fasta', '.fa')): return sum(l.startswith('>') for l in lines)
    if name.endswith('.pdb'): return 1
    if name.endswith('.jsonl'): return len(lines)
    if name.endswith(('.tsv', '.csv')): return len(lines) - 1
    return sum(l.startswith('LOCUS') for l in lines)  # GenBank flat file

def finish(out: Path, m: dict, described: dict):
    "Add the file list (bytes, sha256, records) to manifest `m`, write manifest.json and MANIFEST.md."
    d = out/m['name']
    m['files'] = [{'path': rel, 'bytes': (d/rel).stat().st_size, 'sha256': file_hash(d/rel), 'records': count_records(d/rel),
                   'description': desc} for rel, desc in sorted(described.items())]
    write_json(d/'manifest.json', m)
    srcs = m['source'] if isinstance(m['source'], list) else [m['source']]
    md = [f"# {m['name']}\n", m['description'] + '\n', f"**Status:** {m['status']}. {m['status_note']}\n",
          f"**Subset rule (seed {m['seed']}):** {m['subset_rule']}\n", f"**Licence:** {m['licence']}\n", f"**Citation:** {m['citation']}\n",
          '## Sources\n', '| repository | path | commit |', '|---|---|---|',
          *[f"| {s.get('repository', '')} | {s.get('path', '')} | `{s.get('commit', '')}` |" for s in srcs[:40]],
          *([f'| ... {len(srcs) - 40} more in manifest.json | | |'] if len(srcs) > 40 else []), '',
          '## Bundled files\n', '| file | bytes | records | sha256 | description |', '|---|---|---|---|---|',
          *[f"| {f['path']} | {f['bytes']:,} | {f['records']:,} | `{f['sha256'][:16]}…` | {f['description']} |" for f in m['files']], '',
          '## Full-size data (for users with internet; `omnibiote_nb.core.download`)\n']
    fs = m['full_size']
    md += [f"- `{e['file']}` <{e['url']}>: {e['description']}" + (f" ({e['checksum']['algo']} {e['checksum']['value']})" if e['checksum'] else ' (no published checksum)')
           for e in fs[:40]] + ([f'- ... {len(fs) - 40} more in manifest.json'] if len(fs) > 40 else []) + (['- none: see the status note'] if not fs else [])
    for k in m.get('notes', []): md.append(f'\n{k}')
    with atomic_write(d/'MANIFEST.md', 'w') as f: f.write('\n'.join(md) + '\n')
    mb = sum(f['bytes'] for f in m['files']) / 1e6
    log.info(f"{m['name']}: {len(m['files'])} files, {mb:.2f} MB")

def fresh(out, name):
    d = out/name
    if d.exists(): shutil.rmtree(d)
    d.mkdir(parents=True); return d

# ---------------------------------------------------------------- datasets
GB_SKIP_MYCOPLASMA = ['NC_017503', 'NC_018407', 'NC_018408', 'NC_018409']

def genbank(src, out):
    d = fresh(out, 'genbank'); fm = json.loads((src/'genbank/files_manifest.json').read_text())
    keep = [e for e in fm if not e['staged'].endswith('escherichia_coli.gbk.gz')
            and not any(f'/{a}.gbk' in e['staged'] for a in GB_SKIP_MYCOPLASMA)]
    files = {}
    for e in keep:
        copy(src/'genbank'/e['staged'], d/e['staged'])
        files[e['staged']] = f"{e['repo']}:{e['path']} (gzip of the original file)"
    # which LOCUS molecule types the kept files carry, for the manifest
    idx = list(csv.DictReader(io.StringIO(gzip.open(src/'genbank/records_index.tsv.gz', 'rt').read()), delimiter='\t'))
    kept = {e['staged'].removeprefix('files/').removesuffix('.gz') for e in keep}
    types = {}
    for r in idx:
        if r['file'] in kept and r['status'] == 'ok': types[r['molecule_type']] = types.get(r['molecule_type'], 0) + 1
    m = {'name': 'genbank', 'description': 'GenBank flat files (nucleotide records) as published in public repositories, gzip-compressed, '
         'layout files/<owner>__<repo>/<path>.gz. Real and dirty: short or malformed LOCUS lines (no molecule type), '
         'lower-case molecule types, records without sequence, truncated sequences, odd feature locations, duplicate records.',
         'status': 'sample', 'status_note': f'A sample of GenBank: {len(keep)} of the {len(fm)} files of the shared GenBank collection '
         f'(itself a sample of public GenBank records), with unique-record LOCUS molecule types {dict(sorted(types.items()))} '
         '("NA" = no molecule type on the LOCUS line). No tRNA/rRNA records exist in the collection. The full data is the GenBank release.',
         'source': [src_entry(e['repo'], e['commit'], e['path']) | {'licence': e['license']} for e in keep],
         'licence': 'GenBank records: NCBI places no restrictions on their use (some submitters may claim rights); '
                    'the files come from the repositories listed, each under its own licence (per source entry).',
         'citation': 'Sayers E.W. et al., GenBank 2024 update, Nucleic Acids Res. 52(D1):D134 (2024); and the source repositories.',
         'subset_rule': 'Every file of the shared collection except large genomes kept out for size: the E. coli K-12 genome '
                        '(moshi4/pycirclize-data prokaryote/escherichia_coli.gbk, 3.5 MB gz) and four of the six Mycoplasma gallisepticum strain '
                        'genomes (moshi4/pygenomeviz-data NC_017503, NC_018407, NC_018408, NC_018409; NC_004829 and NC_017502 kept). '
                        'Files copied byte for byte (no random choice).',
         'seed': None, 'molecule_types': dict(sorted(types.items())),
         'full_size': [
             {'file': 'gbrel.txt', 'url': 'https://ftp.ncbi.nlm.nih.gov/genbank/gbrel.txt', 'checksum': None,
              'description': 'GenBank release notes: lists every division file of the current release (gb<div><n>.seq.gz in the same directory); '
                             'the full release is all of them, several TB uncompressed.'},
             {'file': 'gbphg1.seq.gz', 'url': 'https://ftp.ncbi.nlm.nih.gov/genbank/gbphg1.seq.gz', 'checksum': None,
              'description': 'first file of the phage division of the current release (changes with every release, so no fixed checksum)'},
             {'file': 'gbvrl1.seq.gz', 'url': 'https://ftp.ncbi.nlm.nih.gov/genbank/gbvrl1.seq.gz', 'checksum': None,
              'description': 'first file of the viral division of the current release'}]}
    finish(out, m, files)

def proteins(src, out, k=40000):
    d = fresh(out, 'proteins'); text = gzip.open(src/'proteins/combined_dedup_proteins.fasta.gz', 'rt', newline='').read()
    recs = ['>' + r for r in text.split('\n>')]; recs[0] = recs[0][1:]
    recs = [r if r.endswith('\n') else r + '\n' for r in recs]
    idx = sample_idx(len(recs), k, random.Random(SEED))
    write_gz(d/'proteins_sample.fasta.gz', ''.join(recs[i] for i in idx))
    m = {'name': 'proteins', 'description': 'Protein sequences standing in for UniRef100: Swiss-Prot sets, a TrEMBL sample, antiSMASH smCOG and '
         'clusterblast proteins, GenBank CDS translations, CATH S40 domains and PDB chains, exact duplicates removed; header <source tag>|<original header>.',
         'status': 'sample', 'status_note': f'{len(idx):,} of the {len(recs):,} records of the shared UniRef-like collection, records verbatim. '
         'No UniRef100 file is bundled or was available offline; the full pre-training corpus of the paper is UniRef100.',
         'source': [src_entry('jun-csbio/TargetDBPPlus', '9daa127d35e0', 'dataset/'), src_entry('HannesStark/protein-localization', '7b0be1e64a91', 'data_files/'),
                    src_entry('soedinglab/MMseqs2', 'f71d0a6b57c1', 'examples/QUERY.fasta'), src_entry('shouldsee/blosum', 'a226226db080', 'cath-dataset-nonredundant-S40.fa'),
                    src_entry('antismash/antismash', '38e5f8ac5f7b', 'antismash/modules/smcog_trees/data/'),
                    src_entry('J-SNACKKB/FLIP', '62cace8735f5', 'splits/secondary_structure/splits.zip'), src_entry('J-SNACKKB/FLIP', '62cace8735f5', 'splits/conservation/splits.zip'),
                    {'repository': None, 'path': 'genbank/ CDS /translation qualifiers', 'commit': None, 'url': None}],
         'licence': 'UniProtKB and CATH data CC BY 4.0; FLIP AFL-3.0; antiSMASH AGPL-3.0 (sequences from INSDC); per source (commits abbreviated as in the shared manifest).',
         'citation': 'UniProt Consortium, Nucleic Acids Res. 2023; Suzek B.E. et al., UniRef clusters, Bioinformatics 2015; and the source repositories.',
         'subset_rule': f'random.Random({SEED}).sample of {k} record indices of combined_dedup_proteins.fasta.gz, kept in file order, records verbatim.',
         'seed': SEED,
         'full_size': [{'file': 'uniref100.fasta.gz', 'url': 'https://ftp.uniprot.org/pub/databases/uniprot/uniref/uniref100/uniref100.fasta.gz', 'checksum': None,
                        'description': 'UniRef100, current release (about 100 GB compressed; changes every release, so no fixed checksum)'}]}
    finish(out, m, {'proteins_sample.fasta.gz': 'FASTA, seeded random sample, records verbatim'})

def pronab(src, out):
    d = fresh(out, 'pronab'); copy(src/'pronab/pronab_no_mutations_flat.tsv.gz', d/'pronab_no_mutations_flat.tsv.gz')
    s = src_entry('nyuolab/OmniBioTE', '54afaceae4f16fee8defea49508ef4e8b824f7d7', 'datasets/pronab_no_mutations.json')
    m = {'name': 'pronab', 'description': 'ProNAB wild-type protein–nucleic-acid binding affinities as shipped by the OmniBioTE authors, flattened to one row '
         'per binding record: uniprot, protein_name, organism, na_type, na_seq, na_seq_complement, kd_M, dG_kcal_mol, protein_seq.',
         'status': 'complete', 'status_note': 'Complete: every record of the authors\' pronab_no_mutations.json (757 proteins, 14,582 records, exact '
         'duplicates present as in the source: dedupe before splitting; 910 records with Kd = dG = 0). Mutation data and the authors\' '
         'cross-validation files are not public and not included.',
         'source': s, 'licence': 'MIT (OmniBioTE repository); ProNAB database terms apply to the underlying data.',
         'citation': 'Harini K. et al., ProNAB, Nucleic Acids Res. 50(D1):D1528 (2022); Chen et al., OmniBioTE, arXiv:2408.16245.',
         'subset_rule': 'none: verbatim copy of the flat TSV made from the JSON (no values changed, row order = JSON order)', 'seed': None,
         'full_size': [{'file': 'pronab_no_mutations.json', 'url': s['url'], 'checksum': None,
                        'description': 'the source JSON at the pinned commit (GitHub publishes no sha256; the bundled TSV is a lossless flattening of it)'}]}
    finish(out, m, {'pronab_no_mutations_flat.tsv.gz': 'TSV, one row per binding record (complete)'})

def jaspar(src, out):
    d = fresh(out, 'jaspar'); copy(src/'jaspar/jaspar2024_core_latest_with_protein_seqs.tsv.gz', d/'jaspar2024_core_with_protein_seqs.tsv.gz')
    it = '622dca48b0e93d342888704dd6176ee912d94074'
    m = {'name': 'jaspar', 'description': 'JASPAR 2024 CORE profiles (latest version of each, all taxa: 2,346) joined with their transcription factors\' '
         'UniProt protein sequences: matrix_id, name, tax_group, uniprot_accs, n_chains, all_seqs_present, motif_len, consensus (argmax of the PFM), protein_seqs.',
         'status': 'complete', 'status_note': 'Complete for JASPAR 2024 CORE (latest versions); 878 of 879 vertebrate profiles have all chain sequences. '
         'Bundled under the name jaspar2024_core_with_protein_seqs.tsv.gz; the shared copy is jaspar2024_core_latest_with_protein_seqs.tsv.gz (same bytes). '
         'The JASPAR SQLite it was joined from is not bundled (7 MB); `pip install pyjaspar==4.0.0` provides it.',
         'source': [{'repository': None, 'path': 'pyjaspar 4.0.0 wheel: pyjaspar/data/JASPAR2024.sqlite', 'commit': None, 'url': 'https://pypi.org/project/pyjaspar/4.0.0/'},
                    src_entry('wassermanlab/JASPAR-inference-tool', it, 'files/')],
         'licence': 'JASPAR data CC BY 4.0; pyjaspar MIT; JASPAR-inference-tool MIT.',
         'citation': 'Rauluseviciute I. et al., JASPAR 2024: 20th anniversary of the open-access database of transcription factor binding profiles, '
                     'Nucleic Acids Res. 52(D1):D174 (2024).',
         'subset_rule': 'none: verbatim copy (the table was derived by joining the pyjaspar SQLite with the inference tool\'s UniProt sequences)', 'seed': None,
         'full_size': [{'file': f'{t}.fa', 'url': GH.format(repo='wassermanlab/JASPAR-inference-tool', commit=it, path=f'files/{t}.fa'), 'checksum': None,
                        'description': f'UniProt sequences of the {t} TFs referenced by JASPAR 2024 (JASPAR itself: https://jaspar.elixir.no/downloads/)'}
                       for t in ('vertebrates', 'plants', 'insects', 'fungi', 'nematodes', 'urochordates')]}
    finish(out, m, {'jaspar2024_core_with_protein_seqs.tsv.gz': 'TSV, one row per CORE profile (complete)'})

PNA_STRUCTURES_EXTRA = ['3D2S_A_E']  # RNA chain with lost insertion codes: real dirty input for the reader

def protein_na_complexes(src, out):
    s = src/'protein_na_complexes'; d = fresh(out, 'protein_na_complexes')
    copy(s/'complexes_index.tsv', d/'complexes_index.tsv'); copy(s/'complexes.jsonl.gz', d/'complexes.jsonl.gz')
    cx = [json.loads(l) for l in gzip.open(s/'complexes.jsonl.gz', 'rt')]
    groups = {}
    for r in cx:
        if r['n_contacts'] >= 10: groups.setdefault((tuple(sorted(set(r['na_types']))), len(r['na_chains'])), []).append(((s/r['structure_file']).stat().st_size, r['id']))
    chosen = sorted({min(v)[1] for v in groups.values()} | set(PNA_STRUCTURES_EXTRA))
    files = {'complexes_index.tsv': 'TSV index of the 429 complexes (complete)',
             'complexes.jsonl.gz': 'JSON lines: chains, sequences, author residue numbers, independent 4.5 Å contact labels (gemmi), provenance (complete)'}
    for c in chosen:
        copy(s/f'structures/{c}.pdb.gz', d/f'structures/{c}.pdb.gz'); files[f'structures/{c}.pdb.gz'] = 'trimmed PDB complex (model 1, no hydrogens)'
    rows, t0 = ['complex_id\tchain\tindex\tresid\tresidue\tmin_distance\n'], time.time()
    for r in cx:
        df = min_distances(s/r['structure_file'], r['protein_chain'], r['na_chains'])
        rows += [f"{r['id']}\t{x.chain}\t{x.index}\t{x.resid}\t{x.residue}\t{x.min_distance:.3f}\n" for x in df.itertuples()]
    log.info(f'min_distances: {len(cx)} complexes, {len(rows) - 1} residues in {time.time() - t0:.0f} s')
    write_gz(d/'min_distances.tsv.gz', ''.join(rows))
    files['min_distances.tsv.gz'] = ('derived, all 429 complexes: per protein residue, its 0-based index in the sequence read from the structure, author '
                                     'number, letter and the minimum heavy-atom distance (Å) to any nucleotide heavy atom (omnibiote_nb.structures.min_distances)')
    ids = sorted({r['pdb_id'] for r in cx})
    m = {'name': 'protein_na_complexes', 'description': 'PDB complexes of exactly one protein chain with one or two DNA/RNA chains (429 complexes from 326 entries: '
         '351 protein–RNA from PRDB v3.0, 78 protein–DNA from the protein–DNA docking benchmark v1.2), trimmed to the protein chain and its partner strands, '
         'for the per-residue contact task (paper, Methods 4.3.3).',
         'status': 'sample', 'status_note': f'complexes_index.tsv, complexes.jsonl.gz and min_distances.tsv.gz are complete for the 429 complexes; only {len(chosen)} '
         'of the 429 structure files are bundled (the rest are in the PDB). The paper used every such PDB structure; this set is smaller. '
         'min_distances.tsv.gz reads the protein sequence from the structure: for 13 complexes it differs from protein_seq in complexes.jsonl.gz, which also '
         'counted free amino-acid ligands (HETATM ARG, TRP, ...) in the chain. Its distances are to nucleotides only; the 4.5 Å labels in complexes.jsonl.gz '
         'counted every heavy atom of the nucleic-acid chains, waters and ions included (they agree with min_distance <= 4.5 on 99.1% of residues, '
         'and on 100% when waters and ions are counted too).',
         'source': [src_entry('shrikantcombio/PRDBv3_dataset', '33ac3d4d0c5c87212e5d3887ac7ee1fdb10ffa45', 'nr_288_PRDBv3.0/'),
                    src_entry('haddocking/Prot-DNABenchmark', 'd5bd151a68ff610a5454489d8df4c962fe29f541', '')],
         'licence': 'PDB coordinates CC0 (wwPDB); Prot-DNABenchmark Apache-2.0; PRDBv3_dataset none stated.',
         'citation': 'Berman H.M. et al., The Protein Data Bank, Nucleic Acids Res. 28:235 (2000); van Dijk M. & Bonvin A.M.J.J., A protein–DNA docking '
                     'benchmark, Nucleic Acids Res. 36:e88 (2008); PRDB v3.0 (shrikantcombio/PRDBv3_dataset).',
         'subset_rule': 'structures: in each group of complexes with the same set of nucleic-acid types and number of nucleic-acid chains, the smallest structure '
                        'file (gz bytes) among complexes with at least 10 contact residues, plus ' + ', '.join(PNA_STRUCTURES_EXTRA) + ' (lost insertion codes). '
                        'min_distances: every complex, every protein residue. No random choice.',
         'seed': None, 'structures': chosen,
         'full_size': [{'file': f'{i}.cif.gz', 'url': f'https://files.rcsb.org/download/{i}.cif.gz', 'checksum': None,
                        'description': f'PDB entry {i} (full, untrimmed mmCIF)'} for i in ids]}
    finish(out, m, files)

def gene_protein_pairs(src, out, k=1700):
    d = fresh(out, 'gene_protein_pairs'); lines = gz_lines(src/'gene_protein_pairs/cds_gene_protein_pairs.jsonl.gz')
    intron = [i for i, l in enumerate(lines) if (r := json.loads(l))['span_len'] > r['cds_len']]
    rest = [i for i in range(len(lines)) if i not in set(intron)]
    pick = sorted(intron + [rest[j] for j in sample_idx(len(rest), k, random.Random(SEED))])
    write_gz(d/'pairs_sample.jsonl.gz', ''.join(lines[i] for i in pick))
    m = {'name': 'gene_protein_pairs', 'description': 'Gene (genomic span on the CDS strand, introns included) / protein pairs derived from the CDS features '
         'of the shared GenBank collection: source_file, record_id, organism, molecule_type, locus_tag, gene, product, protein_id, location, strand, is_join, '
         'n_parts, span_len, cds_len, transl_table, codon_start, translation_source, translation_matches_cds, genomic_seq, cds_seq, protein.',
         'status': 'sample', 'status_note': f'All {len(intron)} intron-containing pairs (span_len > cds_len) and {min(k, len(rest))} of the other {len(rest):,} pairs, '
         f'{len(pick):,} of {len(lines):,} in all. Most pairs are prokaryotic/viral; spliced eukaryotic genes are scarce.',
         'source': {'repository': None, 'path': 'derived from genbank/ (shared collection) with Biopython 1.88', 'commit': None, 'url': None},
         'licence': 'as for the source GenBank files (see the genbank dataset)', 'citation': 'see the genbank dataset',
         'subset_rule': f'every pair with span_len > cds_len, plus random.Random({SEED}).sample of {k} of the others (indices in file order); file order kept.',
         'seed': SEED, 'full_size': []}
    finish(out, m, {'pairs_sample.jsonl.gz': 'JSON lines, one gene/protein pair each'})

GUE_COMMIT = '486343e5212361d6cd7ed03c624f430ed3d5f02e'
GUE_COMPLETE = ['prom/prom_core_all', 'prom/prom_core_notata', 'prom/prom_core_tata', 'prom/prom_300_tata',
                'tf/0', 'tf/1', 'tf/2', 'tf/3', 'tf/4', 'mouse/0', 'mouse/2', 'mouse/3', 'mouse/4']
GUE_DEVTEST_ONLY = ['EMP/H3', 'EMP/H3K14ac', 'EMP/H3K36me3', 'EMP/H3K4me1', 'EMP/H3K4me2', 'EMP/H3K4me3', 'EMP/H3K79me3', 'EMP/H3K9ac',
                    'EMP/H4', 'EMP/H4ac', 'mouse/1', 'prom/prom_300_all', 'prom/prom_300_notata', 'splice/reconstructed']
GUE_CAP = {'train': 5000, 'dev': 1000, 'test': 1000}

def gue(src, out):
    d = fresh(out, 'gue'); files, counts = {}, {}
    tasks = [t for t in GUE_COMPLETE if all((src/'gue'/t/f'{s}.csv.gz').exists() for s in GUE_CAP)]
    for t in tasks:
        for s, cap in GUE_CAP.items():
            lines = gz_lines(src/'gue'/t/f'{s}.csv.gz'); rows = lines[1:]
            rng = random.Random(f'{SEED}/{t}/{s}'); idx = sample_idx(len(rows), cap, rng)
            write_gz(d/t/f'{s}.csv.gz', lines[0] + ''.join(rows[i] for i in idx))
            files[f'{t}/{s}.csv.gz'] = f'CSV sequence,label: {len(idx)} of {len(rows)} rows'; counts.setdefault(t, {})[s] = [len(idx), len(rows)]
    m = {'name': 'gue', 'description': 'GUE (Genome Understanding Evaluation, DNABERT-2) classification tasks, CSV with header sequence,label, '
         'in the upstream layout <group>/<task>/{train,dev,test}.csv (gzip).',
         'status': 'sample', 'status_note': f'{len(tasks)} tasks bundled, each subsampled: {counts} ([bundled, upstream] rows). Of the 28 GUE tasks, 27 '
         f'were available offline: the {len(tasks)} bundled ones complete (train/dev/test); the {len(GUE_DEVTEST_ONLY)} tasks {GUE_DEVTEST_ONLY} with dev '
         'and test only (train missing), not bundled; virus/covid missing entirely. (The shared data README says 14 complete tasks, but lists and holds 13.)',
         'tasks_complete_upstream': tasks, 'tasks_dev_test_only_upstream': GUE_DEVTEST_ONLY, 'tasks_missing_upstream': ['virus/covid'],
         'source': [src_entry('wds-seu/DeepGene', GUE_COMMIT, f'data/GUE/{t}/') for t in tasks],
         'licence': 'DeepGene repository Apache-2.0; GUE released by the DNABERT-2 authors (github.com/MAGICS-LAB/DNABERT_2), no separate data licence stated.',
         'citation': 'Zhou Z. et al., DNABERT-2: Efficient Foundation Model and Benchmark for Multi-Species Genome, ICLR 2024 (arXiv:2306.15006).',
         'subset_rule': f'per task and split, random.Random("{SEED}/<task>/<split>").sample of min(n, cap) data rows with caps {GUE_CAP}, kept in file order, header kept.',
         'seed': SEED,
         'full_size': [{'file': f"{t.replace('/', '_')}_{s}.csv", 'url': GH.format(repo='wds-seu/DeepGene', commit=GUE_COMMIT, path=f'data/GUE/{t}/{s}.csv'),
                        'checksum': None, 'description': f'GUE {t} {s} split, complete ({counts[t][s][1]} rows)'} for t in tasks for s in GUE_CAP]}
    finish(out, m, files)

def protein_tasks(src, out):
    s = src/'protein_tasks'; d = fresh(out, 'protein_tasks'); files = {}
    def subsample(rel, col, caps, desc):
        lines = gz_lines(s/rel); head, rows = lines[0], lines[1:]
        i = head.rstrip('\n').split('\t' if '.tsv' in rel else ',').index(col); sep = '\t' if '.tsv' in rel else ','
        by = {}
        for j, r in enumerate(rows): by.setdefault(r.rstrip('\n').split(sep)[i], []).append(j)
        keep = sorted(j for k, js in by.items() for j in (js if len(js) <= caps.get(k, 0) else sorted(random.Random(f'{SEED}/{rel}/{k}').sample(js, caps[k]))))
        write_gz(d/rel, head + ''.join(rows[j] for j in keep))
        files[rel] = desc + f" ({', '.join(f'{k}: {sum(1 for j in keep if j in set(v))} of {len(v)}' for k, v in sorted(by.items()))})"
    subsample('fluorescence/avgfp_tape_like_splits.tsv.gz', 'split', {'train': 8000, 'valid': 2000, 'test': 4000},
              'avGFP variants, TAPE-style split (test = 4+ mutations), columns split, variant, num_mutations, score, sequence')
    copy(s/'stability/tape_stability_test_decoded.tsv.gz', d/'stability/tape_stability_test_decoded.tsv.gz')
    files['stability/tape_stability_test_decoded.tsv.gz'] = 'TAPE stability test set (12,851, complete), label truncated to 0.01'
    subsample('secondary_structure/flip_ss3_sampled.tsv.gz', 'split', {'train': 4000, 'test': 364},
              'FLIP SS3 (NetSurfP-2.0 train incl. its validation rows, NEW364 test), columns id, split, validation, sequence, ss3, resolved_mask')
    for f in ('CB513_dssp3_dssp8.tsv.gz', 'TS115_dssp3_dssp8.tsv.gz'):
        copy(s/'secondary_structure'/f, d/'secondary_structure'/f); files[f'secondary_structure/{f}'] = f'{f[:5]} test set with 3- and 8-state labels (complete)'
    for f in ('one_vs_rest.csv.gz', 'two_vs_rest.csv.gz', 'three_vs_rest.csv.gz', 'low_vs_high.csv.gz', 'sampled.csv.gz'):
        copy(s/'gb1_flip'/f, d/'gb1_flip'/f); files[f'gb1_flip/{f}'] = 'FLIP GB1 split, columns sequence, target, set, validation (complete)'
    flip = '62cace8735f5610e2743cf06ce0f944b37fffaa6'
    m = {'name': 'protein_tasks', 'description': 'TAPE-like protein tasks. SUBSTITUTES for TAPE and ProteinGLUE, whose own files were not available offline: '
         'avGFP fluorescence re-split TAPE-style from the METL copy of Sarkisyan et al., the TAPE stability test set decoded from a UniRep re-encoding, '
         'FLIP SS3 (NetSurfP-2.0 sets), CB513 and TS115, and FLIP GB1.',
         'status': 'sample', 'status_note': 'fluorescence and FLIP SS3 are seeded subsamples; stability (test only: TAPE train/valid unavailable), CB513, TS115 and '
         'the five FLIP GB1 splits are complete copies. Missing: TAPE remote homology and contact, all ProteinGLUE, an 8-state training set. Results on these '
         'must be named as on substitutes, not as TAPE or ProteinGLUE results.',
         'source': [src_entry('gitter-lab/metl-pub', '40d8fbf9ceefd9571d5f8c45f7fb38131488b981', 'data/dms_data/avgfp/avgfp.tsv'),
                    src_entry('zoeyxyang/LLM_proteinstability', '49ff9f10b0532cc39931cb888a0c7bba1f3b07c0', 'UniRep/formatted_new_test.txt'),
                    src_entry('J-SNACKKB/FLIP', flip, 'splits/secondary_structure/splits.zip'), src_entry('J-SNACKKB/FLIP', flip, 'splits/gb1/splits.zip'),
                    src_entry('omarperacha/ps4-dataset', 'e1820264e0762fb44d496f53e08cdcb7ddf92598', 'ps4_data/data/')],
         'licence': 'METL MIT; TAPE data BSD-3; FLIP data AFL-3.0; ps4-dataset CC0-1.0; LLM_proteinstability none stated.',
         'citation': 'Rao R. et al., TAPE, NeurIPS 2019; Sarkisyan K.S. et al., Nature 533:397 (2016); Rocklin G.J. et al., Science 357:168 (2017); '
                     'Dallago C. et al., FLIP, NeurIPS Datasets 2021; Klausen M.S. et al., NetSurfP-2.0, Proteins 2019; Gelman S. et al., METL.',
         'subset_rule': f'fluorescence: per split random.Random("{SEED}/<file>/<split>").sample of train 8000, valid 2000, test 4000 rows; FLIP SS3: train 4000 '
                        '(rows with split=train, validation rows included in the draw), test all 364; file order and header kept. Others verbatim.',
         'seed': SEED,
         'full_size': [{'file': f'{t}.tar.gz', 'url': f'http://s3.amazonaws.com/songlabdata/proteindata/data_raw_pytorch/{t}.tar.gz', 'checksum': None,
                        'description': f'the original TAPE {t} task (JSON), which these files stand in for'} for t in ('fluorescence', 'stability', 'secondary_structure')]
                      + [{'file': 'avgfp.tsv', 'url': GH.format(repo='gitter-lab/metl-pub', commit='40d8fbf9ceefd9571d5f8c45f7fb38131488b981', path='data/dms_data/avgfp/avgfp.tsv'),
                          'checksum': None, 'description': 'all 51,714 avGFP variants (METL copy)'}]}
    finish(out, m, files)

DATASETS = {'genbank': genbank, 'proteins': proteins, 'pronab': pronab, 'jaspar': jaspar, 'protein_na_complexes': protein_na_complexes,
            'gene_protein_pairs': gene_protein_pairs, 'gue': gue, 'protein_tasks': protein_tasks}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--src', required=True, type=Path, help='folder holding the shared data (genbank/, proteins/, ...)')
    ap.add_argument('--out', default=REPO/'data_manifests', type=Path)
    ap.add_argument('--only', nargs='*', choices=list(DATASETS), help='rebuild only these datasets')
    a = ap.parse_args(argv)
    for name in a.only or DATASETS: DATASETS[name](a.src, a.out)
    total = sum(p.stat().st_size for p in a.out.rglob('*') if p.is_file())
    log.info(f'{a.out}: {total / 1e6:.1f} MB in all')
    if total > 40e6: sys.exit(f'bundled data is {total / 1e6:.1f} MB, over the 40 MB budget')

if __name__ == '__main__': main()
