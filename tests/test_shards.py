"""Pre-training shards (nbs/03_shards): resumable after SIGKILL, byte-identical, no split overlap, bad inputs."""
import gzip, json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest

from omnibiote_nb.core import OmniError, REPO
from omnibiote_nb.data import genbank_files, protein_files, split_of, read_genbank, PROTEIN
from omnibiote_nb.shards import prepare, iter_shard_records
from omnibiote_nb.tokenizers import CharTokenizer

KW = dict(bucket_mb=2, flush_mb=1, progress=False)          # many map groups, buckets and runs: a few seconds of work
CORPUS = [str(p) for p in genbank_files() + protein_files()]


def _files(d):
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(Path(d).rglob('*')) if p.is_file()}


def _start(out, workers):
    code = (f'from omnibiote_nb.shards import prepare; '
            f'prepare({CORPUS!r}, {str(out)!r}, workers={workers}, **{KW!r})')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    return subprocess.Popen([sys.executable, '-c', code], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(proc, cond, timeout=60):
    t = time.time()
    while not cond():
        assert proc.poll() is None, 'prepare ended before it could be killed'
        assert time.time() - t < timeout
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL); proc.wait()


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp('ref')
    prepare(CORPUS, out, workers=2, **KW)
    return out


def test_sigkill_resume_is_byte_identical(reference, tmp_path):
    out = tmp_path/'killed'; work = out/'.work'
    # killed in the map phase, after some input files are done
    p = _start(out, 1)
    _kill_when(p, lambda: len(list(work.glob('map-*.json'))) >= 5)
    assert not (out/'index.json').exists() and not list(work.glob('reduce-*.json'))
    # killed again in the reduce phase, after some buckets are done
    p = _start(out, 2)
    _kill_when(p, lambda: len(list(work.glob('reduce-*.json'))) >= 2)
    assert not (out/'index.json').exists()
    prepare(CORPUS, out, workers=2, **KW)
    assert _files(out) == _files(reference)
    assert not work.exists()


def _char_decoder():
    "Vectorised CharTokenizer.decode: residue letter of every id, found by decoding each id once."
    tok = CharTokenizer(); lut = np.zeros(tok.vocab_size, np.uint8)
    for i in range(tok.vocab_size):
        if i in tok.tag_ids or i < 4: continue
        for t in sorted(tok.tag_ids):
            try: tag, s = tok.decode(np.array([t, i, tok.eos_id], np.uint16))
            except OmniError: continue                     # id i is not a residue of this tag's modality
            if len(s) == 1: lut[i] = ord(s); break
    return tok, lambda ids: (tok.decode(np.array([ids[0], tok.eos_id], np.uint16))[0], lut[ids[1:-1]].tobytes().decode())


def test_splits_disjoint_and_deduplicated(reference):
    (tok, decode), idx = _char_decoder(), json.loads((reference/'index.json').read_text())
    seen = {}
    for split in ('train', 'val', 'test'):
        for ids in iter_shard_records(reference, split):
            tag, seq = decode(ids)
            key = (tag == PROTEIN, seq)
            assert key not in seen, f'{seq[:20]} in {seen.get(key)} and {split}'
            seen[key] = split
            assert split_of(seq) == split
    assert decode(next(iter_shard_records(reference))) == tok.decode(next(iter_shard_records(reference)))
    assert len(seen) == sum(s['n_records'] for s in idx['shards'])
    assert {s['split'] for s in idx['shards']} == {'train', 'val', 'test'}
    seqs = {}
    for (prot, s), sp in seen.items(): seqs.setdefault(s, set()).add(sp)
    assert all(len(v) == 1 for v in seqs.values())            # identical strings share a split across modalities too


def test_duplicates_across_inputs(tmp_path, reference):
    idx = prepare(CORPUS + [genbank_files()[0]], tmp_path/'dup', workers=2, **KW)   # a file given twice
    ref = json.loads((reference/'index.json').read_text())
    n = sum(1 for _ in read_genbank(genbank_files()[0]))
    assert idx['stats']['duplicates'] == ref['stats']['duplicates'] + n
    assert idx['stats']['splits'] == ref['stats']['splits']


# ---------- bad inputs: a counted skip, or one clear line of OmniError; never a partial output file ----------

def gb(recs, nl='\n'):
    "A GenBank flat file with records (name, molecule type, sequence)."
    out = []
    for name, mol, seq in recs:
        lines = [f'LOCUS       {name:<16}{len(seq):>7} bp    {mol:<7} linear   UNK 01-JAN-2000', f'ACCESSION   {name}',
                 f'VERSION     {name}.1', 'FEATURES             Location/Qualifiers', 'ORIGIN']
        lines += [f'{i + 1:>9} ' + ' '.join(seq[j:j + 10] for j in range(i, min(i + 60, len(seq)), 10)) for i in range(0, len(seq), 60)]
        out.append(nl.join(lines + ['//']))
    return (nl.join(out) + nl).encode()


def _decoded(out):
    tok = CharTokenizer()
    return sorted(tok.decode(ids) for ids in iter_shard_records(out))


def _clean(out):
    "No temporary or partial files: either nothing, or a finished index with every shard it lists."
    files = [p for p in Path(out).rglob('*') if p.is_file()]
    assert not [p for p in files if p.name.endswith('.tmp')]
    if not (Path(out)/'index.json').exists(): assert not [p for p in files if p.parent == Path(out)]


def _fails(inputs, out, match, **kw):
    with pytest.raises(OmniError, match=match) as e: prepare(inputs, out, progress=False, workers=kw.pop('workers', 1), **kw)
    assert '\n' not in str(e.value)
    _clean(out)


def test_normalisation_and_counted_skips(tmp_path):
    f = tmp_path/'a.gb'
    f.write_bytes(gb([('LOW', 'dna', 'acgtacgtrn'), ('RNA1', 'mRNA', 'ACGUUGCA'), ('DNA1', 'ds-DNA', 'ACGTTGCA'),
                      ('BAD', 'DNA', 'ACGTXACG'), ('GAP', 'DNA', 'ACG-TACG'), ('EMPTY', 'DNA', '')]))
    p = tmp_path/'p.fa'
    p.write_bytes(b'>stop\nmkvl*\n>gap\nMK-L\n>mid\nMK*L\n>empty\n>ok\nMKVL\n')
    idx = prepare([f, p], tmp_path/'out', progress=False, workers=1)
    st = idx['stats']
    assert st['skipped'] == {'bad_char': 4, 'empty': 1, 'no_sequence': 1}
    assert st['normalised'] == {'iupac_to_N': 1, 'stop_stripped': 1}
    assert st['duplicates'] == 2                                  # ACGU == ACGT after U->T; MKVL* == MKVL
    assert _decoded(tmp_path/'out') == sorted([('DNA', 'ACGTACGTNN'), ('mRNA', 'ACGTTGCA'), (PROTEIN, 'MKVL')])
    _fails([f], tmp_path/'strict', r"a\.gb: record BAD\.1: invalid nucleotide 'X' at position 5", strict=True)
    _fails([p], tmp_path/'strict2', r"p\.fa: record gap: invalid amino acid '-' at position 3", strict=True, workers=2)


def test_crlf_same_as_lf(tmp_path):
    recs = [('A1', 'DNA', 'ACGT' * 40), ('A2', 'cRNA', 'GGCCA' * 13)]
    (tmp_path/'lf.gb').write_bytes(gb(recs)); (tmp_path/'crlf.gb').write_bytes(gb(recs, '\r\n'))
    (tmp_path/'lf.fa').write_bytes(b'>p\nMKV\nLL\n'); (tmp_path/'crlf.fa').write_bytes(b'>p\r\nMKV\r\nLL\r\n')
    a = prepare([tmp_path/'lf.gb', tmp_path/'lf.fa'], tmp_path/'a', progress=False)
    b = prepare([tmp_path/'crlf.gb', tmp_path/'crlf.fa'], tmp_path/'b', progress=False)
    assert a['stats']['records'] == {'DNA': 1, 'cRNA': 1, PROTEIN: 1} == b['stats']['records']
    assert _decoded(tmp_path/'a') == _decoded(tmp_path/'b')


def test_truncated_gzip(tmp_path):
    data = gzip.compress(gb([(f'R{i}', 'DNA', 'ACGTTGCAAT' * 300) for i in range(50)]))
    (tmp_path/'cut.gb.gz').write_bytes(data[:len(data) // 2])
    (tmp_path/'ok.gb.gz').write_bytes(data)
    _fails([tmp_path/'ok.gb.gz', tmp_path/'cut.gb.gz'], tmp_path/'out', r'cut\.gb\.gz: corrupt or truncated gzip')


def test_wrong_format_empty_missing(tmp_path):
    png = tmp_path/'fig.png'; png.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 8)
    _fails([png], tmp_path/'o1', r'fig\.png: not GenBank .* nor FASTA')
    empty = tmp_path/'empty.gb'; empty.write_bytes(b'')
    _fails([empty], tmp_path/'o2', r'empty\.gb: empty file')
    _fails([tmp_path/'nope.gb'], tmp_path/'o3', r'nope\.gb: no such file')
    fa = tmp_path/'x.gb'; fa.write_bytes(b'>p\nMKV\n')                  # FASTA under a GenBank name: content decides
    with pytest.raises(OmniError, match=r'x\.gb: not a GenBank file'): list(read_genbank(fa))
    assert prepare([fa], tmp_path/'o4', progress=False)['stats']['records'] == {PROTEIN: 1}


def test_other_settings_into_same_folder_refused(tmp_path, reference):
    (tmp_path/'a.fa').write_bytes(b'>p\nMKV\n')
    prepare([tmp_path/'a.fa'], tmp_path/'o', progress=False)
    _fails([tmp_path/'a.fa'], tmp_path/'o', 'other inputs or settings', val=0.5)
