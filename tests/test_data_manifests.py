"The bundled data verifies against its manifests, corruption is caught, and full-size downloads resume and refuse bad checksums."
import gzip, hashlib, http.server, json, shutil, threading
from pathlib import Path
import pytest
from omnibiote_nb.core import OmniError, data_dir, download, manifests, verify, write_json

DATASETS = {'genbank', 'proteins', 'pronab', 'jaspar', 'protein_na_complexes', 'gene_protein_pairs', 'gue', 'protein_tasks',
            'pronab_homology', 'jaspar_filter', 'protein_structure_tasks'}
KEYS = {'name', 'description', 'status', 'status_note', 'source', 'licence', 'citation', 'subset_rule', 'seed', 'files', 'full_size'}

def test_every_bundled_file_verifies():
    assert set(manifests()) == DATASETS
    assert verify() == []

def test_manifests_are_complete_and_list_every_file():
    total = 0
    for name, m in manifests().items():
        assert KEYS <= set(m), (name, KEYS - set(m))
        assert m['name'] == name and m['status'] in ('complete', 'sample') and m['status_note']
        for e in m['full_size']:
            assert e['url'].startswith(('https://', 'http://')) and '/' not in e['file'], e
            assert e['checksum'] is None or (e['checksum']['algo'] in ('sha256', 'md5') and e['checksum']['value']), e
        listed = {f['path'] for f in m['files']} | {'manifest.json', 'MANIFEST.md'}
        on_disk = {str(p.relative_to(data_dir()/name)) for p in (data_dir()/name).rglob('*') if p.is_file()}
        assert on_disk == listed, (name, on_disk ^ listed)  # no stray or unlisted files
        assert all(f['records'] > 0 and f['description'] for f in m['files']), name
        total += sum(f['bytes'] for f in m['files'])
    assert total <= 40e6

def test_record_counts_are_true():
    m = manifests()['pronab']['files'][0]
    lines = gzip.open(data_dir()/'pronab'/m['path'], 'rt').read().splitlines()
    assert m['records'] == len(lines) - 1 == 14582
    gb = manifests()['genbank']
    assert {'DNA', 'RNA', 'mRNA', 'cRNA', 'ss-RNA', 'ss-DNA', 'ds-DNA', 'dna', 'NA'} <= set(gb['molecule_types'])

@pytest.fixture
def copied(tmp_path):
    shutil.copytree(data_dir()/'pronab', tmp_path/'pronab')
    shutil.copytree(data_dir()/'jaspar', tmp_path/'jaspar')
    return tmp_path

def test_corrupted_byte_is_reported(copied):
    assert verify(root=copied) == []
    p = copied/'pronab/pronab_no_mutations_flat.tsv.gz'
    b = bytearray(p.read_bytes()); b[len(b) // 2] ^= 0x01; p.write_bytes(bytes(b))
    assert verify(root=copied) == ['pronab/pronab_no_mutations_flat.tsv.gz: sha256 differs from the manifest']
    assert verify(['jaspar'], root=copied) == []

def test_missing_and_truncated_files_are_reported(copied):
    (copied/'jaspar/jaspar2024_core_with_protein_seqs.tsv.gz').unlink()
    p = copied/'pronab/pronab_no_mutations_flat.tsv.gz'; p.write_bytes(p.read_bytes()[:-10])
    problems = verify(root=copied)
    assert len(problems) == 2 and 'jaspar/jaspar2024_core_with_protein_seqs.tsv.gz: missing' in problems
    assert any(x.startswith('pronab/pronab_no_mutations_flat.tsv.gz:') and 'bytes' in x for x in problems)

# ---------------------------------------------------------------- downloads from a local server
PAYLOAD = bytes(range(256)) * 4000  # 1,024,000 bytes
CUT = 300_000                        # the first response breaks off after this many bytes

class Handler(http.server.BaseHTTPRequestHandler):
    "Serves PAYLOAD with Range support; the first request of a server is cut off after CUT bytes."
    def log_message(self, *a): pass
    def do_GET(self):
        srv = self.server; srv.ranges.append(self.headers.get('Range'))
        start = int(self.headers['Range'].split('=')[1].split('-')[0]) if self.headers.get('Range') else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        if start: self.send_header('Content-Range', f'bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}')
        self.send_header('Content-Length', str(len(body))); self.end_headers()
        if srv.cut and len(srv.ranges) == 1:
            self.wfile.write(body[:CUT]); self.wfile.flush(); self.close_connection = True
            self.connection.shutdown(2)  # the transfer breaks off mid-file
        else: self.wfile.write(body)

@pytest.fixture
def server():
    def start(cut):
        s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler); s.ranges, s.cut = [], cut
        threading.Thread(target=s.serve_forever, daemon=True).start(); servers.append(s)
        return s, f'http://127.0.0.1:{s.server_port}/payload.bin'
    servers = []
    yield start
    for s in servers: s.shutdown(); s.server_close()

def toy(root, url, sha):
    (root/'toy').mkdir(parents=True, exist_ok=True)
    write_json(root/'toy/manifest.json', {'name': 'toy', 'files': [], 'full_size': [
        {'file': 'payload.bin', 'url': url, 'checksum': sha and {'algo': 'sha256', 'value': sha}, 'description': 'test payload'}]})

def test_interrupted_download_resumes(server, tmp_path):
    s, url = server(cut=True); root, dest = tmp_path/'data', tmp_path/'dest'
    toy(root, url, hashlib.sha256(PAYLOAD).hexdigest())
    with pytest.raises(OmniError): download('toy', dest, root=root, progress=False)
    assert [p.name for p in dest.iterdir()] == ['payload.bin.part']
    have = (dest/'payload.bin.part').stat().st_size
    assert 0 < have <= CUT and (dest/'payload.bin.part').read_bytes() == PAYLOAD[:have]
    out = download('toy', dest, root=root, progress=False)
    assert out == [dest/'payload.bin'] and out[0].read_bytes() == PAYLOAD
    assert s.ranges == [None, f'bytes={have}-']  # the second request asked only for the rest
    assert [p.name for p in dest.iterdir()] == ['payload.bin']

def test_interrupted_download_without_checksum_is_not_taken_as_complete(server, tmp_path):
    s, url = server(cut=True); root, dest = tmp_path/'data', tmp_path/'dest'
    toy(root, url, None)
    with pytest.raises(OmniError, match='interrupted'): download('toy', dest, root=root, progress=False)
    assert [p.name for p in dest.iterdir()] == ['payload.bin.part']
    assert download('toy', dest, root=root, progress=False)[0].read_bytes() == PAYLOAD

def test_checksum_mismatch_is_refused_and_leaves_nothing(server, tmp_path):
    s, url = server(cut=False); root, dest = tmp_path/'data', tmp_path/'dest'
    toy(root, url, '0' * 64)
    with pytest.raises(OmniError, match='does not match'): download('toy', dest, root=root, progress=False)
    assert list(dest.iterdir()) == []
