"""One naming rule for the compiled code, checked over the whole package.

Every Numba function has a plain NumPy twin in its own file that the tests hold it equal to:
``name_reference`` defined *above* the fast ``name`` or the kernel ``_name_kernel``; or, for a
piece of a larger kernel (a helper, one tile of a loop), the reference of the whole, named in
the module's ``_KERNEL_PARTS``. And wherever both ``name_reference`` and ``name`` exist, the
reference comes first, so a reader meets the plain version before the fast one."""
import ast
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scratchnet"


def _is_njit(node):
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if getattr(target, "id", getattr(target, "attr", None)) == "njit":
            return True
    return False


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defs = {n.name: n.lineno for n in tree.body if isinstance(n, ast.FunctionDef)}
        parts = {}
        for n in tree.body:
            if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "_KERNEL_PARTS"
                                                 for t in n.targets):
                parts = ast.literal_eval(n.value)
        yield path.relative_to(PACKAGE.parent), tree, defs, parts


def _violations():
    found = []
    for path, tree, defs, parts in _modules():
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and _is_njit(node)):
                continue
            name = node.name
            if name in parts:
                if parts[name] not in defs:
                    found.append(f"{path}::{name}: its reference {parts[name]} is not in the file")
                continue
            base = name.lstrip("_")
            base = base[:-len("_kernel")] if base.endswith("_kernel") else base
            refs = [r for r in (f"{base}_reference", f"_{base}_reference") if r in defs]
            if not refs:
                found.append(f"{path}::{name}: a Numba function without {base}_reference "
                             f"(or an entry in _KERNEL_PARTS)")
            elif defs[refs[0]] > node.lineno:
                found.append(f"{path}::{name}: its reference {refs[0]} is below it")
        for name, line in defs.items():
            fast = name[:-len("_reference")] if name.endswith("_reference") else None
            if fast and fast in defs and defs[fast] < line:
                found.append(f"{path}::{name}: below its fast twin {fast}")
    return found


def test_every_numba_function_has_its_reference_above_it():
    assert _violations() == []


def test_the_rule_is_checked_at_all():
    """The walk sees the package's Numba functions (a rule that sees none cannot fail)."""
    n = sum(1 for _, tree, _, _ in _modules() for node in tree.body
            if isinstance(node, ast.FunctionDef) and _is_njit(node))
    assert n > 40


@pytest.mark.parametrize("weighted", [False, True])
def test_the_lloyd_helpers_equal_their_references(weighted):
    from scratchnet.cluster._lloyd import (_inertia, center_rows, center_rows_reference,
                                           column_sums, column_sums_reference,
                                           inertia_reference)
    from scratchnet.metrics._pairwise import exact_sq, exact_sq_reference
    rng = np.random.default_rng(0)
    X = rng.random((500, 7)).astype(np.float32)
    centers = rng.random((4, 7)).astype(np.float32)
    labels = rng.integers(0, 4, 500).astype(np.int32)
    w = rng.random(500) if weighted else None
    assert _inertia(X, centers, labels, w) == pytest.approx(
        inertia_reference(X, centers, labels, w), rel=1e-12)
    np.testing.assert_allclose(column_sums(X), column_sums_reference(X), rtol=1e-12)
    mean = X.mean(axis=0)
    a, b = np.empty_like(X), np.empty_like(X)
    assert center_rows(X, mean, a) == pytest.approx(center_rows_reference(X, mean, b),
                                                    rel=1e-6)
    np.testing.assert_array_equal(a, b)
    assert exact_sq(X, 3, 9) == pytest.approx(exact_sq_reference(X, 3, 9), rel=1e-12)
