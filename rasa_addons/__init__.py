"""Extensions loaded inside the Rasa process (Python 3.10): NLU components, the REST channel, stores.

Rasa imports this package to load the REST channel (credentials.yml, before `rasa run` builds its server), the NLU
components (config.yml) and the stores (endpoints.yml). Importing it changes Rasa's behaviour, once per process,
through three explicit calls below (four with `RASA_WITHOUT_TENSORFLOW=1`, whose `without_tensorflow.install()` runs
first, before anything of Rasa is imported: `python -m rasa_addons run …` imports this package before Rasa):

- `speedups.apply()`: seven speed-ups for hot spots found by profiling (rasa_addons/speedups.py), each replacing Rasa
  functions with faster ones that give the same results: one reused JSON-schema validator for action replies, the
  dask graph built once per target list (and its task order replayed), one kept-open aiohttp session per endpoint
  and event loop, the intent classifier's coefficients in Fortran order, its input matrix built from the sentence
  features alone, the rule keys indexed by what each rule state requires, and a conversation's states replayed once
  per turn instead of once per prediction. Each is
  written for Rasa 3.6.21 and fingerprints the Rasa code it replaces or relies on; on any other version or code it is
  skipped with a warning and Rasa's own code runs.
- `reliability.install()`: store errors, an unreachable action server and repeated message ids fail or replay a
  turn instead of losing it. It refuses (raises) on a Rasa other than 3.6.x.
- `forking.install()`: with several Sanic workers, the objects imported before the fork are frozen out of the garbage
  collector's reach, so the workers keep sharing their pages instead of each copying them; each worker settles once
  its model is loaded (freezes the model's objects, returns the heap freed while loading) (rasa_addons/forking.py).
"""

import os

from rasa_addons import without_tensorflow

if os.environ.get(without_tensorflow.ENV) == "1":
    without_tensorflow.install()

from rasa_addons import forking, reliability, speedups  # noqa: E402  (imports Rasa, so after the TensorFlow stand-in)

speedups.apply()
reliability.install()
forking.install()
