"""GenBank -> token shards throughput versus Biopython (Methods 4.1).

On the bundled GenBank files, single core: (1) plain gzip decompression, the limit for any reader;
(2) our whole path, `shards.prepare(..., workers=1)`: scan, normalise, hash, deduplicate, split, tokenise, write;
(3) Biopython's full record parse, `SeqIO.parse(..., 'genbank')`, touching every sequence.
Times are CPU seconds of this process (workers=1 runs in-process), best of 3. MB are megabytes of uncompressed GenBank text; Mbp are nucleotides in the records Biopython reads.

    python benchmarks/bench_data.py
"""
import gzip, json, sys, tempfile, time, warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.timing import best_of
from collections import Counter
from omnibiote_nb.data import genbank_files, _genbank
from omnibiote_nb.shards import prepare


def _best(fn, repeat=3): return best_of(fn, repeat, time.process_time)


def bench(repeat=3) -> dict:
    files = genbank_files()
    def gz():
        n = 0
        for p in files:
            with gzip.open(p, 'rb') as f:
                while b := f.read(1 << 20): n += len(b)
        return n
    def ours():
        with tempfile.TemporaryDirectory() as d: return prepare(files, d, workers=1, progress=False)
    def bio():
        from Bio import SeqIO, BiopythonWarning
        n = 0
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', BiopythonWarning)
            for p in files:
                with gzip.open(p, 'rt') as f:
                    for r in SeqIO.parse(f, 'genbank'):
                        try: n += len(str(r.seq))
                        except Exception: pass          # records without a sequence (CON)
        return n
    def scan():
        st = Counter(); return sum(len(s) for p in files for _, _, s in _genbank(p, st, False))
    t_gz, mb = _best(gz, repeat); mb /= 1e6
    t_scan, _ = _best(scan, repeat)
    t_ours, idx = _best(ours, repeat)
    t_bio, bp = _best(bio, repeat); mbp = bp / 1e6
    r = {'files': len(files), 'MB_uncompressed': round(mb, 2), 'Mbp': round(mbp, 3),
         'gzip_MB_s': round(mb / t_gz, 1),
         'reader_only_MB_s': round(mb / t_scan, 1), 'ratio_reader_over_biopython': round(t_bio / t_scan, 2),
         'ours_MB_s': round(mb / t_ours, 1), 'ours_Mbp_s': round(mbp / t_ours, 2),
         'biopython_MB_s': round(mb / t_bio, 1), 'biopython_Mbp_s': round(mbp / t_bio, 2),
         'ratio_ours_over_biopython': round(t_bio / t_ours, 2),
         'records_kept': sum(s['n_records'] for s in idx['shards']), 'tokens': sum(s['n_tokens'] for s in idx['shards'])}
    return r


if __name__ == '__main__':
    print(json.dumps(bench(), indent=1))
