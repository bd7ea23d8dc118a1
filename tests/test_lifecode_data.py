"Life-Code data (30_lifecode_data): the same records as 01_data, CDS locations that translate to the records' own proteins."
from collections import Counter
import numpy as np
from omnibiote_nb.core import bundled
from omnibiote_nb.data import genbank_files, read_genbank, read_fasta, AA
from omnibiote_nb.lifecode_data import (read_coding, translation_check, region_track, parse_location, CDS, RT, codon_usage,
                                        reverse_codons, reverse_translate, translate, protein_record, spliced, revcomp)

GB = 'files/biopython__biopython/Tests/GenBank/'

def test_same_records_as_01_data():
    for f in genbank_files():
        assert [(r.id, r.tag, r.seq) for r in read_coding(f)] == [tuple(r) for r in read_genbank(f)], f

def test_translations_match_on_the_whole_bundle():
    chk = Counter()
    for f in genbank_files(): chk += translation_check(read_coding(f))
    assert chk['join/minus'] > 20 and chk['join/plus'] > 20 and chk['single/minus'] > 1000
    assert chk['match'] / (chk['match'] + chk['differ']) > 0.98, chk

def test_joins_and_reverse_strand_exact():
    recs = list(read_coding(bundled('genbank', GB + 'arab1.gb.gz'))) + list(read_coding(bundled('genbank', GB + 'NC_000932.gb.gz')))
    chk = translation_check(recs)
    assert chk['differ'] == 0 and chk['join/minus'] > 0 and chk['join/plus'] > 0
    for r in recs:   # every coding nucleotide of a minus-strand single-part CDS reads 6 5 4 along the record
        assert len(r.region) == len(r.seq) and r.region.max() <= 6

def test_region_track_reverse_join():
    c = CDS(parse_location('complement(join(1..4,8..12))'), 2, 1, '', False)
    seq = 'ACGTACGTACGTAC'
    assert spliced(seq, c) == revcomp(seq[7:12]) + revcomp(seq[0:4])
    # spliced order: 12,11,10,9,8 then 4,3,2,1 (1-based); codon_start 2: the first is codon position 3
    r = region_track(len(seq), [c])
    want = np.zeros(len(seq), np.uint8)
    for k, p in enumerate([11, 10, 9, 8, 7, 3, 2, 1, 0]): want[p] = 4 + (k - 1) % 3
    assert r.tolist() == want.tolist()

def test_first_cds_wins_on_overlap():
    st = Counter()
    r = region_track(9, [CDS([(0, 6, 1)], 1, 1, '', False), CDS([(3, 9, -1)], 1, 1, '', False)], st)
    assert r.tolist() == [1, 2, 3, 1, 2, 3, 6, 5, 4] and st['overlap_nt'] == 3

def test_reverse_translation_rule():
    rt = reverse_codons(codon_usage([bundled('genbank', GB + 'arab1.gb.gz')]))
    assert set(rt) == set(AA) and rt['X'] == 'NNN' and rt['U'] == 'TGA' and rt['O'] == 'TAG'
    for aa in 'ACDEFGHIKLMNPQRSTVWY': assert translate(rt[aa]) == aa
    for amb, (a, b) in {'B': 'DN', 'Z': 'EQ'}.items():
        assert all(x == y == z or (z == 'N' and x != y) for x, y, z in zip(rt[a], rt[b], rt[amb]))
    p = next(read_fasta(bundled('proteins', 'proteins_sample.fasta.gz')))
    rec = protein_record(p.id, p.seq, rt)
    assert len(rec.seq) == 3 * len(p.seq) and set(rec.region.tolist()) == {RT} and rec.cds[0].translation == p.seq
