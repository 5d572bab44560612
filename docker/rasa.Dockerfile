# Rasa Open Source (dialogue core), production image. The model is trained at build time, so the image is
# self-contained: no models/ volume, and the model always matches the config, domain and data it was built from.
#
#   docker build -f docker/rasa.Dockerfile -t tro-ly-dich-vu-cong/rasa .      (from the repository root)
#
# At run time endpoints.yml expands ACTION_ENDPOINT_URL, TRACKER_STORE_URL and LOCK_STORE_URL and Rasa refuses
# to start when one is unset; docker-compose.yml sets all three.
FROM python:3.10-slim

# PYTHONPATH: the NLU components, tracker/lock stores and channel in rasa_addons/ import common.text, all under /app.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false

RUN groupadd --system --gid 1001 rasa \
    && useradd --system --uid 1001 --gid rasa --create-home --home-dir /home/rasa --shell /usr/sbin/nologin rasa

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the Rasa pin changes. Every dependency of rasa 3.6.21 has a
# manylinux wheel for Python 3.10 except three pure-Python sdists (docopt, randomname, mattermostwrapper), so no
# compiler is needed.
COPY requirements/rasa.txt requirements/rasa.lock requirements/
RUN pip install -r requirements/rasa.txt -c requirements/rasa.lock

# Only what the Rasa process uses: the NLU components and channel in rasa_addons/ import the pure-Python
# common/text.py and the words residents read (common/messages.py, messages/); nothing of actions/ runs in Rasa.
COPY config.yml domain.yml credentials.yml endpoints.yml ./
COPY data/ data/
COPY common/__init__.py common/text.py common/messages.py common/redis.py common/standins.py common/memory.py common/
COPY messages/ messages/
COPY rasa_addons/ rasa_addons/

# Trained as root into root-owned files, so the service user can read but not change the model. Rasa's training
# cache goes to /tmp and is deleted: it would only make the image larger.
RUN RASA_CACHE_DIRECTORY=/tmp/rasa-cache rasa train --config config.yml --domain domain.yml --data data \
        --out models --fixed-model-name assistant \
    && rm -rf /tmp/rasa-cache .rasa \
    && test -s models/assistant.tar.gz

# numeric, so Kubernetes-style runAsNonRoot checks can verify it (1001 = rasa)
USER 1001:1001
EXPOSE 5005

# Served through rasa_addons, which leaves TensorFlow out: this model has no TensorFlow component, and TensorFlow is
# ~430 MB of each worker (rasa_addons/without_tensorflow.py). Set after training, which keeps the real TensorFlow.
ENV RASA_WITHOUT_TENSORFLOW=1
CMD ["python", "-m", "rasa_addons", "run", "-i", "0.0.0.0", "-p", "5005", "--model", "models/assistant.tar.gz", \
     "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
