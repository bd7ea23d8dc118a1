"Codon tokenizer (31_codon_tokenizer): exact round trip to sequence and region track; shards with regions beside the tokens."
import gzip
import numpy as np, pytest
from omnibiote_nb.core import OmniError, bundled
from omnibiote_nb.data import genbank_files, PROTEIN, NUC
from omnibiote_nb.tokenizers import CharTokenizer
from omnibiote_nb.lifecode_data import read_coding, protein_record, reverse_codons, codon_usage, unified_records, RT
from omnibiote_nb.codon_tokenizer import CodonTokenizer, prepare_lifecode, load_regions, FWD0, REV0, ORPH0, TRIPLETS

GB = 'files/biopython__biopython/Tests/GenBank/'
tok = CodonTokenizer()

def test_ids_as_per_residue():
    char = CharTokenizer()
    assert tok.tag_of == char.tag_of and [tok.id_to_piece(i) for i in range(9)] == [char.id_to_piece(i) for i in range(9)]
    assert tok.vocab_size == 329

def test_round_trip_every_bundled_record():
    n_rev = n_orph = 0
    for f in genbank_files():
        for r in read_coding(f):
            ids = tok.encode(r.seq, r.tag, r.region)
            t, s, reg = tok.decode(ids)
            assert (t, s) == (r.tag, r.seq) and np.array_equal(reg, r.region), (f, r.id)
            n_rev += int(((ids >= REV0) & (ids < ORPH0)).sum()); n_orph += int((ids >= ORPH0).sum())
    assert n_rev > 100_000 and n_orph > 100   # minus-strand codons and split codons were exercised

def test_reverse_strand_codon_is_its_coding_codon():
    ids = tok.encode('CAT', 'DNA', [6, 5, 4])
    assert ids[1] == REV0 + TRIPLETS.index('ATG') and tok.codon[ids[1]] == '-ATG'
    ids = tok.encode('ATGC', 'mRNA', [1, 2, 3, 1])
    assert ids[1:-1].tolist() == [FWD0 + TRIPLETS.index('ATG'), ORPH0 + 6 * NUC.index('C') + 0]
    assert tok.decode(ids)[2].tolist() == [1, 2, 3, 1]

def test_protein_records():
    rt = reverse_codons(codon_usage([bundled('genbank', GB + 'arab1.gb.gz')]))
    p = protein_record('p', 'MKXBZUOWACDEFGHILNPQRSTVY', rt)
    ids = tok.encode(p.seq, p.tag, p.region)
    assert len(ids) == 27 and tok.decode(ids)[1] == p.seq and set(tok.decode(ids)[2].tolist()) == {RT}
    with pytest.raises(OmniError, match='cannot be in a <protein> record'): tok.decode(np.array([ids[0], 4, 3]))
    with pytest.raises(OmniError, match='not whole codons'): tok.encode('ACGT', PROTEIN, [RT] * 4)

def test_shards_keep_regions(tmp_path):
    fa = tmp_path/'p.fasta'
    with gzip.open(bundled('proteins', 'proteins_sample.fasta.gz'), 'rt') as f: fa.write_text(''.join(f.readline() for _ in range(200)))
    gbs = [bundled('genbank', GB + 'arab1.gb.gz'), bundled('genbank', GB + 'NC_000932.gb.gz')]
    rt = reverse_codons(codon_usage(gbs))
    idx = prepare_lifecode(tmp_path/'s', gbs, [fa], rt, progress=False)
    want = {(r.tag, r.seq): r.region for _, r in unified_records(gbs, [fa], rt)}
    n = 0
    for e in idx['shards']:
        toks, offs, reg = np.memmap(tmp_path/'s'/e['file'], np.uint16, 'r'), np.load(tmp_path/'s'/e['offsets']), load_regions(tmp_path/'s', e)
        assert len(reg) == len(toks) == e['n_tokens']
        for a, b in zip(offs[:-1].tolist(), offs[1:].tolist()):
            t, s, track = tok.decode(toks[a:b])
            assert np.array_equal(track, want[t, s]) and np.array_equal(reg[a:b], tok.token_regions(toks[a:b]))
            n += 1
    assert n == len(want) and {e['modality'] for e in idx['shards']} == {'nuc', 'prot'}
    assert prepare_lifecode(tmp_path/'s', gbs, [fa], rt, progress=False) == idx   # a second call reuses the folder
