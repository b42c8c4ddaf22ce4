"""What importing one part of the package loads: the metrics and K-means stand apart from the
network core (``import scratchnet.metrics`` once loaded 27 modules, the convolution kernels
and the parallel trainer among them)."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("statement", [
    "import scratchnet.metrics",
    "from scratchnet.cluster import KMeans, GaussianMixture, kmeans_plusplus",
    "from scratchnet.manifold import UMAP",
    "from scratchnet.decomposition import PCA",
])
def test_no_network_core_behind(statement):
    code = (f"import sys\n{statement}\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('scratchnet.nn'))\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dec_still_imports_from_cluster():
    from scratchnet.cluster import DEC, soft_assignment
    from scratchnet.cluster.dec import DEC as direct
    assert DEC is direct and callable(soft_assignment)
    import scratchnet.cluster
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        scratchnet.cluster.Nope
