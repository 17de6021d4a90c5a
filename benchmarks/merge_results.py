#!/usr/bin/env python
"Merge the sections of another RESULTS.md (e.g. one written on a GPU machine) into benchmarks/RESULTS.md."
import re, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _results import RESULTS, HEADER

SEC = re.compile(r"<!-- (.+?):start -->.*?<!-- \1:end -->", re.S)

def merge(other, names=None):
    "Copy the sections of `other` (all, or those whose name contains one of `names`) into RESULTS.md."
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    for m in SEC.finditer(Path(other).read_text()):
        name, block = m.group(1), m.group(0)
        if names and not any(n in name for n in names): continue
        pat = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S)
        text = pat.sub(lambda _: block, text) if pat.search(text) else text.rstrip() + "\n\n" + block + "\n"
        print('merged', name)
    RESULTS.write_text(text)

if __name__ == '__main__': merge(sys.argv[1], sys.argv[2:])
