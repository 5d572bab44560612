"""Extensions loaded inside the Rasa process (Python 3.10): NLU components, the REST channel, stores.

Importing the package (Rasa does, to load the channel and components) applies the small performance fixes in
speedups.py: they replace one Rasa method, nothing heavy.
"""

from rasa_addons.speedups import install as _install_speedups

_install_speedups()
