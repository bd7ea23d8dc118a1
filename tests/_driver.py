"Run a training driver script in a subprocess, as a user's job would run, for the resume and interrupt tests."
import json, os, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def run_driver(tmp, driver, kw, slow=0, wait=True, timeout=120):
    "Write `driver` to tmp/driver.py and run it with the JSON of `kw` (SLOW: seconds of sleep per step); the process."
    (tmp/'driver.py').write_text(driver)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]), SLOW=str(slow), OMP_NUM_THREADS='1')
    p = subprocess.Popen([sys.executable, str(tmp/'driver.py'), json.dumps(kw)], env=env, cwd=tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait:
        out = p.communicate(timeout=timeout)[0]
        assert p.returncode == 0, out[-3000:]
    return p
