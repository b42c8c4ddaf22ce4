"""One line on stderr when Numba really compiles one of scratchnet's kernels.

Numba compiles a kernel the first time it is called with a new type signature, then keeps the
machine code in its cache (``__pycache__`` beside the source, or ``NUMBA_CACHE_DIR``) for every
later run. That first run stands still for several seconds, during which a progress bar shows
nothing, then a wild time estimate. So when, and only when, a compilation actually starts (a
cache miss: Numba's ``"numba:compile"`` event, which a cache hit does not fire) for a function
of this package, say so once per process. A run whose kernels all come from the cache says
nothing.
"""
import sys

from numba.core import event

_SAID = False
MESSAGE = ("scratchnet: compiling its Numba kernels for this machine (once: about {} in all "
           "on a first run; later runs load them from the cache)")
ESTIMATE = "10-20 s"


class _Notice(event.Listener):
    """Prints :data:`MESSAGE` at the first compilation of a ``scratchnet`` function."""

    def on_start(self, ev):
        global _SAID
        if _SAID:
            return
        func = getattr(ev.data.get("dispatcher"), "py_func", None)
        if (getattr(func, "__module__", None) or "").startswith("scratchnet"):
            _SAID = True
            from tqdm.auto import tqdm      # above any progress bar that is showing
            tqdm.write(MESSAGE.format(ESTIMATE), file=sys.stderr)

    def on_end(self, ev):
        pass


_LISTENER = _Notice()


def install():
    """Listen to Numba's compile events (:mod:`scratchnet` calls this once, at import)."""
    event.register("numba:compile", _LISTENER)
