"""What the golden-data scripts beside this file share: float arrays as JSON lists.

Inputs are written exactly (exact_rows), references with a fixed number of significant digits
(rows); JSON has no NaN or infinities, so those become null. Imported by attention_golden.py,
masking_torch.py, multi_head_torch.py, rope_golden.py and grouped_query_golden.py (run from the repository root, as their docstrings
say: Python finds this module beside the script).
"""

import json
import math

import numpy as np


def exact_rows(array32):
    """float32 values as their shortest decimals, checked to read back (as a double, then
    rounded to float, as the C++ tests read them) to the same float32."""
    out = []
    for row in np.asarray(array32, dtype=np.float32):
        out.append([float(repr(v)) for v in row])
        assert (np.array(out[-1], dtype=np.float64).astype(np.float32) == row).all()
    return out


def rows(array, digits=9):
    """float64 values, `digits` significant digits (float32 needs at most 9); NaN and
    infinities as null."""
    return [[float(f"{v:.{digits}g}") if math.isfinite(v) else None for v in row]
            for row in np.asarray(array, dtype=np.float64)]


def print_golden(generator, torch_version, **sections):
    """Prints the golden file: the generator's path, the torch version, then each section
    (name=list of cases) as a JSON array with one case per line, so that a regenerated file
    diffs readably."""
    print(f'{{"generator":{json.dumps(generator)},')
    print(f'"torch_version":{json.dumps(torch_version)},')
    names = list(sections)
    for name in names:
        cases = [json.dumps(case, separators=(",", ":")) for case in sections[name]]
        end = "]}" if name == names[-1] else "],"
        print(f'{json.dumps(name)}:[\n' + ",\n".join(cases) + "\n" + end)
