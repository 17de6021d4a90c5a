"Shared by the benchmark scripts: machine facts and writing one script's section of benchmarks/RESULTS.md."
import datetime, os, platform, re, subprocess
from pathlib import Path

RESULTS = Path(__file__).with_name('RESULTS.md')
HEADER = ("# Benchmark results\n\nEach section is written by one script in `benchmarks/` (run it to refresh that section). "
          "Every ratio is measured side by side in one run, on the same inputs.\n")

def machine() -> str:
    "One line naming the machine, the torch build and the date."
    import torch
    cpu = platform.processor() or platform.machine()
    try: cpu = next(l.split(':',1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except Exception: pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ''
    return (f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores ({cpu}){gpu}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), python {platform.python_version()}")

def write_section(name: str, body: str):
    "Replace (or append) the section `name` of RESULTS.md with `body`, stamped with the machine and date."
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    block = f"<!-- {name}:start -->\n## {name}\n\n_Machine: {machine()}_\n\n{body.strip()}\n<!-- {name}:end -->"
    pat = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S)
    text = pat.sub(lambda m: block, text) if pat.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)
