"""Extensions loaded inside the Rasa process (Python 3.10): NLU components, the REST channel, stores.

Importing the package (Rasa does, to load the channel and components) patches Rasa once per process:
speedups.py (three hot spots found by profiling) and reliability.py (store errors, an unreachable action server and
repeated message ids fail or replay a turn instead of losing it). Both check the Rasa version they were written for.
"""

from rasa_addons.reliability import install as _install_reliability
from rasa_addons.speedups import install as _install_speedups

_install_speedups()
_install_reliability()
