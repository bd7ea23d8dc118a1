"""`omnibiote embed` (nbs/07_embed): bad input is a one-line error or a counted skip, --out is checked first, batches
respect --max-tokens, memory stays bounded, and embeddings do not depend on batching or chunking."""
import gzip, json, logging, pathlib, shutil
import numpy as np
import pytest, torch

from omnibiote_nb.core import OmniError
from omnibiote_nb.cli import main
from omnibiote_nb.embed import embed, embed_records, read_inputs, guess_tag, check_device, check_precision
from omnibiote_nb.model import OmniBioTE, preset
from omnibiote_nb.tokenizers import BPETokenizer, CharTokenizer, save_tokenizer, load_tokenizer

FA = '>p1 a protein\nMKVLAAGIVALLLAAGCSS\n>d1\nACGTACGTTGCA\n>r1\nACGUUGCA\n'


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    "A tiny random model (context 64) with the per-residue tokenizer, in run/model beside a run.json."
    d = tmp_path_factory.mktemp('ck') / 'run' / 'model'
    torch.manual_seed(0); OmniBioTE(preset('tiny', vocab_size=49, max_len=64)).save(d); save_tokenizer(CharTokenizer(), d)
    (d.parent / 'run.json').write_text('{"modality": "multi"}')
    return d


@pytest.fixture
def fa(tmp_path):
    p = tmp_path / 'in.fa'; p.write_text(FA); return p


def cli(capsys, *argv):
    "Run the CLI; return (exit code, stderr)."
    with pytest.raises(SystemExit) as e: main(['embed', *map(str, argv)])
    return e.value.code, capsys.readouterr().err


def run(inp, ckpt, out, **kw): return embed(inp, ckpt, out, progress=False, **kw)


# 1. --out is checked before any work

def test_out_is_input_refused(capsys, fa, ckpt):
    code, err = cli(capsys, fa, '--ckpt', ckpt, '--out', fa)
    assert code == 2 and err.startswith('omnibiote: error: --out') and 'is the input file' in err
    assert fa.read_text() == FA
    link = fa.parent / 'link.fa'; link.symlink_to(fa)             # the same file under another name
    with pytest.raises(OmniError, match='is the input file'): run(link, ckpt, fa)


@pytest.mark.parametrize('bad', ['dir', 'under_file'])
def test_out_checked_before_loading(tmp_path, fa, bad):
    out = tmp_path if bad == 'dir' else fa / 'sub' / 'o.npz'
    with pytest.raises(OmniError, match='--out') as e: run(fa, tmp_path / 'no-such-checkpoint', out)
    assert 'is a folder' in str(e.value) if bad == 'dir' else 'in.fa is a file' in str(e.value)


def test_out_replaced_and_created(tmp_path, fa, ckpt, caplog):
    old = tmp_path / 'old.npz'; old.write_bytes(b'previous')
    with caplog.at_level(logging.INFO, 'omnibiote'): run(fa, ckpt, old)
    assert 'replaced the existing file' in caplog.text and list(np.load(old)['ids']) == ['p1', 'd1', 'r1']
    run(fa, ckpt, tmp_path / 'a' / 'b' / 'new.npz'); assert (tmp_path / 'a' / 'b' / 'new.npz').is_file()


def test_failed_run_leaves_old_output(tmp_path, fa, ckpt, monkeypatch):
    out = tmp_path / 'o.npz'; out.write_bytes(b'previous')
    def boom(*a, **k): raise OmniError('stop')
    monkeypatch.setattr('omnibiote_nb.embed.embed_records', boom)
    with pytest.raises(OmniError, match='stop'): run(fa, ckpt, out)
    assert out.read_bytes() == b'previous' and sorted(p.name for p in tmp_path.iterdir()) == ['in.fa', 'o.npz']


# 2. --max-tokens holds for every batch

def _shapes(model, monkeypatch):
    shapes, fwd = [], model.forward
    monkeypatch.setattr(model, 'forward', lambda x, **kw: (shapes.append(tuple(x.shape)), fwd(x, **kw))[1])
    return shapes


@pytest.mark.parametrize('max_tokens', [50, 100, 130])
def test_max_tokens_every_batch(ckpt, monkeypatch, max_tokens):
    model, tok = OmniBioTE.load(ckpt), load_tokenizer(ckpt)
    shapes = _shapes(model, monkeypatch)
    recs = [(f'r{i}', 'DNA', 'ACGTACGTAC') for i in range(20)] + [('long', 'DNA', 'ACGT' * 15)]
    r = embed_records(model, tok, recs, max_tokens=max_tokens, progress=False)
    assert len(r['ids']) == 21 and sum(n for n, _ in shapes) == 21
    assert all(n * L <= max_tokens or n == 1 for n, L in shapes), shapes


def test_max_tokens_positive(capsys, fa, ckpt):
    for m in (0, -5):
        with pytest.raises(OmniError, match=f'--max-tokens {m}: must be a positive'): run(fa, ckpt, fa.parent / 'o.npz', max_tokens=m)
        code, err = cli(capsys, fa, '--ckpt', ckpt, '--out', fa.parent / 'o.npz', '--max-tokens', m)
        assert code == 2 and '--max-tokens' in err and 'Traceback' not in err   # argparse or embed refuses it


# 3. bounded memory, same embeddings

def test_same_embeddings_alone_batched_chunked(ckpt):
    model, tok = OmniBioTE.load(ckpt), load_tokenizer(ckpt)
    recs = [('a', 'DNA', 'ACGT' * 40), ('b', 'protein', 'MKVLAAG'), ('c', 'RNA', 'ACGT' * 30), ('d', 'DNA', 'ACGTT')]
    alone = [embed_records(model, tok, [r], per_token=True, progress=False) for r in recs]
    for kw in (dict(), dict(chunk_tokens=1, max_tokens=70), dict(chunk_tokens=150)):
        got = embed_records(model, tok, recs, per_token=True, progress=False, **kw)
        for k in ('mean', 'first', 'tokens', 'spans'):
            np.testing.assert_allclose(got[k], np.concatenate([a[k] for a in alone]), atol=1e-5)
        assert list(got['ids']) == ['a', 'b', 'c', 'd']
        assert list(np.diff(got['offsets'])) == [len(a['tokens']) for a in alone]
    np.testing.assert_allclose(got['mean'], embed_records(model, tok, recs, progress=False)['mean'], atol=1e-6)


def test_records_streamed_in_chunks(ckpt, monkeypatch):
    "Records are pulled a chunk at a time: the model runs before the last record is read."
    model, tok = OmniBioTE.load(ckpt), load_tokenizer(ckpt)
    events, fwd = [], model.forward
    monkeypatch.setattr(model, 'forward', lambda x, **kw: (events.append('model'), fwd(x, **kw))[1])
    def recs():
        for i in range(6): events.append(f'read{i}'); yield f'r{i}', 'DNA', 'ACGT' * 10
    r = embed_records(model, tok, recs(), chunk_tokens=80, progress=False)
    assert len(r['ids']) == 6 and events.index('model') < events.index('read5')


def test_gzip_sniff_reads_two_bytes(tmp_path, monkeypatch):
    p = tmp_path / 'in.fa.gz'; p.write_bytes(gzip.compress(FA.encode()))
    monkeypatch.setattr(pathlib.Path, 'read_bytes', lambda self: pytest.fail('read the whole file'))
    assert [i for i, _, _ in read_inputs(p)] == ['p1', 'd1', 'r1']


# 4. guessing the tag

@pytest.mark.parametrize('seq,tag', [('acgtnnrykm', 'DNA'), ('ACGT-ACGT', 'DNA'), ('ACGUN', 'RNA'), ('MKVLE', 'protein'),
                                     ('KMRSW', 'protein'), ('MSTQ*', 'protein'), ('', 'DNA')])
def test_guess_tag(seq, tag):
    assert guess_tag(seq) == tag


def test_gapped_dna_reported_as_nucleotide(tmp_path, ckpt):
    p = tmp_path / 'g.fa'; p.write_text('>ok\nACGT\n>gap\nACGT-ACGT\n')
    r = run(p, ckpt, tmp_path / 'o.npz')
    assert list(r['skipped_why']) == [f"{p}: record 2 (gap): invalid nucleotide '-' at position 5"]


# 5. tracebacks turned into one-line errors

def test_not_utf8(capsys, tmp_path, ckpt):
    fa, cs = tmp_path / 'x.fa', tmp_path / 'x.csv'
    fa.write_bytes(b'>a\nACGT\n>b\nAC\xffGT\n'); cs.write_bytes(b'id,sequence\na,ACGT\nb,AC\xe9\n')
    code, err = cli(capsys, fa, '--ckpt', ckpt, '--out', tmp_path / 'o.npz')
    assert code == 2 and f'{fa}: record 2 (b), line 4, column 3: byte 0xff is not UTF-8' in err
    with pytest.raises(OmniError, match=r'x.csv: record 2, line 3, column 5: byte 0xe9'): run(cs, ckpt, tmp_path / 'o.npz')


def test_truncated_gzip(capsys, tmp_path, ckpt):
    p = tmp_path / 'cut.fa.gz'; p.write_bytes(gzip.compress(FA.encode() * 50)[:-30])
    code, err = cli(capsys, p, '--ckpt', ckpt, '--out', tmp_path / 'o.npz')
    assert code == 2 and f'{p}: corrupt or truncated gzip' in err and not (tmp_path / 'o.npz').exists()
    good = tmp_path / 'ok.fa.gz'; good.write_bytes(gzip.compress(FA.encode()))
    assert list(run(good, ckpt, tmp_path / 'o.npz')['ids']) == ['p1', 'd1', 'r1']


@pytest.mark.parametrize('text,msg', [('{"vocab_size": 49, ', 'not valid JSON'), ('{"n_layer": 2}', 'missing fields'),
                                      ('{"vocab_size": 49, "n_layer": 2, "n_head": "2", "n_embd": 32}', 'n_head must be')])
def test_bad_config(capsys, tmp_path, fa, ckpt, text, msg):
    ck = tmp_path / 'ck'; shutil.copytree(ckpt, ck); (ck / 'config.json').write_text(text)
    code, err = cli(capsys, fa, '--ckpt', ck, '--out', tmp_path / 'o.npz')
    assert code == 2 and f'{ck / "config.json"}: {msg}' in err


def test_bad_tokenizer_files(tmp_path, fa, ckpt):
    ck = tmp_path / 'ck'; shutil.copytree(ckpt, ck); (ck / 'tokenizer.json').write_text('{"kind": ')
    with pytest.raises(OmniError, match='tokenizer.json: not valid JSON'): run(fa, ck, tmp_path / 'o.npz')
    save_tokenizer(BPETokenizer.load(), ck); (ck / 'bpe' / 'settings.json').write_text('{"nuc": {"sha')
    with pytest.raises(OmniError, match='bpe/settings.json: not valid JSON'): run(fa, ck, tmp_path / 'o.npz')


def test_device(capsys, fa, ckpt):
    with pytest.raises(OmniError, match="--device 'tpu9': not a device name"): check_device('tpu9')
    assert check_device('cpu') == torch.device('cpu')
    if not torch.cuda.is_available():
        code, err = cli(capsys, fa, '--ckpt', ckpt, '--out', fa.parent / 'o.npz', '--device', 'cuda')
        assert code == 2 and 'omnibiote: error: --device cuda: ' in err and 'use --device cpu' in err



def test_precision(capsys, tmp_path, fa, ckpt):
    "--precision bf16 through the CLI: close to float32 but not equal (it did run in bfloat16); anything else refused first."
    main(['embed', str(fa), '--ckpt', str(ckpt), '--out', str(tmp_path / 'a.npz'), '--per-token'])
    main(['embed', str(fa), '--ckpt', str(ckpt), '--out', str(tmp_path / 'b.npz'), '--per-token', '--precision', 'bf16'])
    a, b = np.load(tmp_path / 'a.npz'), np.load(tmp_path / 'b.npz')
    assert not np.array_equal(a['tokens'], b['tokens'])
    np.testing.assert_allclose(b['mean'], a['mean'], rtol=0.05, atol=0.05 * np.abs(a['mean']).max())
    code, err = cli(capsys, fa, '--ckpt', ckpt, '--out', tmp_path / 'c.npz', '--precision', 'fp16')
    assert code == 2 and "invalid choice: 'fp16'" in err and not (tmp_path / 'c.npz').exists()
    with pytest.raises(OmniError, match='--precision bf16: not supported on mps'): check_precision('bf16', 'mps')
    with pytest.raises(OmniError, match='--precision half: use 32 or bf16'): run(fa, ckpt, tmp_path / 'd.npz', precision='half')

# 6-8. tags, ids, format sniffing

def test_csv_tags_ids_bom(tmp_path, ckpt, caplog):
    p = tmp_path / 'in.csv'
    p.write_bytes('\ufeffid,sequence,tag\nr1,ACGU,rna\nr2,ACGT,LNCRNA\n,MKV,Protein\nr1,ACGT,\n,MKL,\n'.encode())
    with caplog.at_level(logging.INFO, 'omnibiote'): r = run(p, ckpt, tmp_path / 'o.npz')
    assert list(r['ids']) == ['r1', '', 'r1', ''] and list(r['tags']) == ['RNA', 'protein', 'DNA', 'protein']
    assert list(r['skipped_ids']) == ['r2'] and r['skipped_why'][0].startswith(f"{p}: record 2 (r2): unknown tag 'LNCRNA'")
    assert '2 record(s) with an empty id' in caplog.text and "1 record(s) repeat an earlier id (e.g. 'r1')" in caplog.text
    assert 'skipped 1 of 5 records' in caplog.text


def test_fasta_with_leading_blank_and_comment_lines(tmp_path, ckpt, caplog):
    p = tmp_path / 'c.fa'; p.write_text('\n  \n;comment\n;another\n' + FA + '>\nACGT\n>d1\nAC\n')
    with caplog.at_level(logging.WARNING, 'omnibiote'): r = run(p, ckpt, tmp_path / 'o.npz')
    assert list(r['ids']) == ['p1', 'd1', 'r1', '', 'd1'] and '1 record(s) repeat an earlier id' in caplog.text


# 9. single-omic controls

@pytest.mark.parametrize('modality,warned', [('nuc', '1 of 3 records are proteins'), ('prot', '2 of 3 records are nucleic acids'),
                                             ('multi', None)])
def test_modality_warning(tmp_path, fa, ckpt, caplog, modality, warned):
    ck = tmp_path / 'run' / 'model'; shutil.copytree(ckpt, ck)
    (ck.parent / 'run.json').write_text(json.dumps({'modality': modality}))
    with caplog.at_level(logging.WARNING, 'omnibiote'): run(fa, ck, tmp_path / 'o.npz')
    got = [r.getMessage() for r in caplog.records if 'never saw' in r.getMessage()]
    assert (got == []) if warned is None else (len(got) == 1 and warned in got[0])


# Parquet output: the same numbers as npz, readable by pandas and pyarrow without loading every state

def test_parquet_matches_npz(fa, ckpt, tmp_path):
    import pandas as pd, pyarrow.dataset as ds, pyarrow.parquet as pq
    from omnibiote_nb.embed import token_path
    run(fa, ckpt, tmp_path / 'o.npz', per_token=True)
    run(fa, ckpt, tmp_path / 'o.parquet', per_token=True)
    z = np.load(tmp_path / 'o.npz')
    recs = pd.read_parquet(tmp_path / 'o.parquet')
    assert list(recs.columns) == ['id', 'tag', 'n_residues', 'mean', 'first']
    assert list(recs.id) == list(z['ids']) and list(recs.tag) == list(z['tags'])
    assert (recs.n_residues.to_numpy() == z['n_residues']).all()
    for k in ('mean', 'first'): np.testing.assert_array_equal(np.stack(recs[k].to_numpy()), z[k])
    t = pq.read_table(tmp_path / 'o.parquet')
    assert t.schema.field('mean').type.list_size == z['mean'].shape[1]      # fixed-size list of width floats
    toks = ds.dataset(token_path(tmp_path / 'o.parquet')).to_table(filter=ds.field('record') == 1).to_pandas()
    o = z['offsets']
    np.testing.assert_array_equal(np.stack(toks.state.to_numpy()), z['tokens'][o[1]:o[2]])
    np.testing.assert_array_equal(toks[['start', 'end']].to_numpy(), z['spans'][o[1]:o[2]])
    assert (toks.position.to_numpy() == np.arange(o[2] - o[1])).all() and set(toks.id) == {z['ids'][1]}


def test_parquet_without_tokens_removes_stale_token_file(fa, ckpt, tmp_path):
    from omnibiote_nb.embed import token_path
    out = tmp_path / 'o.parquet'
    run(fa, ckpt, out, per_token=True)
    assert token_path(out).is_file()
    run(fa, ckpt, out)
    assert out.is_file() and not token_path(out).exists()


def test_unknown_suffix_is_one_line_error(capsys, fa, ckpt, tmp_path):
    code, err = cli(capsys, fa, '--ckpt', ckpt, '--out', tmp_path / 'o.h5')
    assert code == 2 and err.strip().count('\n') == 0 and "unknown format '.h5'" in err
    assert not (tmp_path / 'o.h5').exists()


# 9. Life-Code mode checkpoints embed like any other

def test_lifecode_checkpoint_embeds(tmp_path, fa):
    "A hybrid (Life-Code mode) folder: proteins reverse-translated, DNA as nucleotides, one pooled vector per record."
    from omnibiote_nb.hybrid_encoder import HybridEncoder, HybridConfig, save_hybrid
    from omnibiote_nb.codon_tokenizer import CodonTokenizer
    torch.manual_seed(0)
    net = HybridEncoder(HybridConfig(**vars(preset('tiny', vocab_size=329, max_len=64)), attn_window=16))
    net.tokenizer = CodonTokenizer()
    save_hybrid(net, tmp_path/'lc')
    run(fa, tmp_path/'lc', tmp_path/'e.npz')
    z = np.load(tmp_path/'e.npz')
    assert list(z['ids']) == ['p1', 'd1', 'r1'] and list(z['n_residues']) == [19, 12, 8]   # residues, not nucleotides
    pooled = [k for k in z.files if z[k].ndim == 2 and z[k].shape[0] == 3]
    assert pooled and all(np.isfinite(z[k]).all() and z[k].shape[1] == net.config.n_embd for k in pooled)
