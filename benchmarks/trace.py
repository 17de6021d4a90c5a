"""Tracing benchmark: time to get a `PermSpec` by tracing (netsim.trace) for the reference architectures of
tests/models_zoo.py, the cost of `check_spec`, and, on the same models, whether torch.fx can trace into them
and how long `torch.export.export` takes (the two tracers the chapter weighs). Writes its section of RESULTS.md.

    OMP_NUM_THREADS=1 python benchmarks/trace.py [--no-export]
"""
import sys, time, argparse
from pathlib import Path
import torch
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'tests'), str(ROOT/'benchmarks')]
from models_zoo import zoo
from netsim.trace import trace_spec, check_spec
from netsim.align import weight_match
from netsim.models import stack_models
from netsim.permute import permute_model
from netsim.symmetry import permute_state
from _results import write_section

class Deep(torch.fx.Tracer):
    "torch.fx tracing into every container (torch.nn's own too); only modules without children stay opaque."
    def is_leaf_module(self, m, qualname): return not list(m.children())

def best(f, n=3):
    "Best wall time of `n` calls of `f` (seconds) and its last result."
    ts, out = [], None
    for _ in range(n):
        t = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t)
    return min(ts), out

def main(export=True):
    torch.set_num_threads(1)
    rows = []
    for name, (m, x) in zoo(0).items():
        m.eval()
        with torch.no_grad(): t_fwd, _ = best(lambda: m(x))
        t_tr, spec = best(lambda: trace_spec(m, x))
        t_ck, gap = best(lambda: check_spec(m, spec, x), n=1)
        b = permute_model(m, seed=1, spec=spec); st = stack_models([b])
        t_wm, perms = best(lambda: weight_match(st.params, spec, ref=m.state_dict()), n=1)
        back = permute_state(st.params, spec, perms, batch_dims=1)
        exact = all(torch.equal(back[k][0], v) for k, v in m.state_dict().items())
        try: Deep().trace(m); fx = 'yes'
        except Exception as e: fx = f"fails ({type(e).__name__})"
        t_ex = '-'
        if export:
            try: t_ex, _ = best(lambda: torch.export.export(m, (x,)), n=1); t_ex = f"{t_ex:.2f}"
            except Exception as e: t_ex = f"fails ({type(e).__name__})"
        sizes = '/'.join(str(v) for v in spec.perm_sizes.values())
        rows.append(f"| {name} | {len(spec.perm_sizes)} | {sizes} | {t_fwd*1e3:.1f} | {t_tr*1e3:.0f} | {t_ck*1e3:.0f} | {gap:.0e} | "
                    f"{t_wm*1e3:.0f} ({'exact' if exact else 'NOT exact'}) | {fx} | {t_ex} |")
        print(rows[-1], flush=True)
    body = ("| model | perms | perm sizes | forward (ms) | trace_spec (ms) | check_spec, 3 seeds (ms) | largest change | "
            "weight_match of a permuted copy (ms) | torch.fx, into containers | torch.export (s) |\n|" + "---|" * 10 + "\n" + "\n".join(rows))
    body += ("\n\nModels of `tests/models_zoo.py` (small widths, batch 2-4), float32, one thread; trace_spec best of 3, the others one run. "
             "`check_spec` runs 4 forward passes of a float64 copy with randomised weights. torch.fx: a `Tracer` that enters every "
             "module with children (`fx.symbolic_trace` itself keeps all torch.nn modules opaque, e.g. a whole `nn.TransformerEncoder`). "
             "torch.export: one call, the first one in the process includes its warm-up. Machine shared with other jobs.\n"
             "Command: `OMP_NUM_THREADS=1 python benchmarks/trace.py`")
    write_section('tracing: the spec of any model (CPU)', body)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--no-export', action='store_true')
    main(export=not ap.parse_args().no_export)
