"""Tokenizer encode throughput on the bundled corpus (Methods 4.1), single process, one thread.

Corpus: every unique record of the bundled GenBank files (nucleotides) and protein sample, all splits.
MB/s are megabytes (= million residues) of sequence per second through `encode_batch` (ids with tag and <eos>).
Peers measured in the same run:
- per-residue: a plain-Python dict lookup per character (`[vocab[c] for c in seq]`), on the same records;
- BPE: SentencePiece's own `encode` on the same records (our wrapper adds the alphabet check, the protein id offset,
  tags and <eos>, and the uint16 arrays).

    python benchmarks/bench_tokenizers.py
"""
import json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.timing import best_of
from omnibiote_nb.tokenizers import CharTokenizer, BPETokenizer, CHAR_VOCAB, corpus


def _best(fn, repeat=3): return best_of(fn, repeat, time.perf_counter)


def bench(repeat=3) -> dict:
    recs = {m: list(corpus(m, split=None)) for m in ('nuc', 'prot')}
    char, bpe = CharTokenizer(), BPETokenizer.load(threads=1)
    r = {'threads': 1}
    for m, rs in recs.items():
        seqs, tags = [x.seq for x in rs], [x.tag for x in rs]
        mb = sum(map(len, seqs)) / 1e6
        r[f'{m}_records'], r[f'{m}_MB'] = len(rs), round(mb, 2)
        t, _ = _best(lambda: char.encode_batch(seqs, tags), repeat)
        r[f'char_{m}_encode_MB_s'] = round(mb / t, 1)
        vocab = {c: i for i, c in enumerate(CHAR_VOCAB[4:9] if m == 'nuc' else CHAR_VOCAB[23:48], 4 if m == 'nuc' else 23)}
        t_py, _ = _best(lambda: [[vocab[c] for c in s] for s in seqs], 1)
        r[f'char_{m}_python_dict_MB_s'] = round(mb / t_py, 2)
        r[f'char_{m}_ratio_over_python'] = round(t_py / t, 1)
        t, enc = _best(lambda: bpe.encode_batch(seqs, tags), 1)
        r[f'bpe_{m}_encode_MB_s'] = round(mb / t, 2)
        r[f'bpe_{m}_residues_per_token'] = round(mb * 1e6 / sum(len(e) - 2 for e in enc), 2)
        sp = bpe.nuc if m == 'nuc' else bpe.prot
        t_sp, _ = _best(lambda: sp.encode(seqs, out_type=int, num_threads=1), 1)
        r[f'bpe_{m}_sentencepiece_MB_s'] = round(mb / t_sp, 2)
        r[f'bpe_{m}_ratio_over_sentencepiece'] = round(t_sp / t, 2)
    return r


if __name__ == '__main__':
    print(json.dumps(bench(), indent=1))
