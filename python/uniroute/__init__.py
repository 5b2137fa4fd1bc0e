"""uniroute: universal LLM routing (UniRoute, Jitkrittum et al., arXiv 2502.08773)."""
from uniroute._core import __version__
