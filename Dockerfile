# modbot: the Lemmy automoderator, with PyTorch (the CUDA build by default) and the real
# ViT-L-14/openai and DeepDanbooru weights baked in, so the container never downloads at run time.
#
#   docker build -t modbot .                                  # CUDA torch, weights (~2.3 GB)
#   docker build -t modbot:cpu --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
#   docker build -t modbot --build-arg MODBOT_FETCH_WEIGHTS=0 .   # mount a HF cache instead
#   docker run --gpus all --env-file .env -e MODBOT_RULES=/etc/modbot/rules.yaml
#       -e MODBOT_STATE=/var/lib/modbot/modbot.sqlite3 --stop-timeout 180 -v modbot-state:/var/lib/modbot modbot
#   (one command; the -e options win over a .env's MODBOT_RULES=./rules.yaml, a path
#   outside the container)
#
# Configured by environment (see .env.example): LEMMY_URL, LEMMY_USERNAME, LEMMY_PASSWORD,
# PICTRS_URL, PICTRS_API_KEY; the policy is /etc/modbot/rules.yaml (mount yours over it,
# with its hashes/ folder). Without a GPU it runs on the CPU (slower; fine when small).
#
# The layers go from the least to the most often changed, so that a change to modbot's
# code rebuilds only the last one: Python, torch, the locked requirements, the weights,
# the code.
#
# A slim Python base rather than nvidia/cuda: the CUDA wheels of torch bring their own
# CUDA libraries (the nvidia-* wheels torch pins), which a CUDA base image only
# duplicated. The host needs the NVIDIA driver and the NVIDIA container toolkit, which
# mount the driver into the container (`--gpus all`).
ARG PYTHON_IMAGE=python:3.12-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/modbot/venv/bin:$PATH \
    HF_HOME=/opt/modbot/hf \
    HF_HUB_DISABLE_TELEMETRY=1 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

RUN python3 -m venv /opt/modbot/venv

# 1. torch from PyTorch's index: the CUDA 12.8 build by default, the CPU build with
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu. Pinned by version (the same as
# constraints-cpu.txt); the nvidia-* and triton wheels it needs come along, pinned
# exactly by torch. No hashes here: each index has its own wheels.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_VERSION=2.13.0
ARG TORCHVISION_VERSION=0.28.0
RUN pip install --index-url "${TORCH_INDEX_URL}" \
        "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"

# 2. Everything else, pinned with hashes: deploy/requirements.lock (made by deploy/lock).
# It pins torch's own dependencies (numpy, sympy, ...) too, replacing what step 1 brought
# where the versions differ. pdqhash (PDQ hashes) has no Linux wheel: pip builds it from
# its hashed sdist, so g++ is installed for this step and removed in the same layer.
COPY deploy/requirements.lock /opt/modbot/requirements.lock
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
    && pip install --require-hashes -r /opt/modbot/requirements.lock \
    && apt-get purge -y --auto-remove g++ && rm -rf /var/lib/apt/lists/*

# 3. The weights, into the Hugging Face cache ($HF_HOME/hub) where modbot's loader looks
# them up offline at run time. deploy/fetch-weights needs huggingface_hub (step 2) and
# nothing of modbot's code, so a code change keeps this layer. One file per line there.
ARG MODBOT_FETCH_WEIGHTS=1
COPY deploy/fetch-weights /opt/modbot/fetch-weights
RUN if [ "${MODBOT_FETCH_WEIGHTS}" = "1" ]; then \
        python3 /opt/modbot/fetch-weights; \
    else \
        echo "MODBOT_FETCH_WEIGHTS=0: no weights in the image; mount a Hugging Face cache at ${HF_HOME}"; \
    fi

# 4. modbot itself. Its dependencies are all in place: --no-deps and the locked setuptools
# (--no-build-isolation) let nothing unpinned in, and pip check proves nothing is missing.
WORKDIR /opt/modbot/src
COPY pyproject.toml README.md LICENSE ./
COPY classifier ./classifier
COPY modbot ./modbot
# the fake Lemmy `modbot demo` runs against (not imported by the bot otherwise)
COPY fakelemmy ./fakelemmy
RUN pip install --no-deps --no-build-isolation . && pip check && modbot --version

# The shipped policy; mount your own rules.yaml and hashes/ over /etc/modbot.
COPY modbot/defaults/rules.yaml /etc/modbot/rules.yaml
COPY modbot/defaults/hashes /etc/modbot/hashes

# The shipped concepts' text embeddings for the model the policy names, computed once
# here (228 prompts through ViT-L-14's text tower: ~20 s) so the first poll does not wait
# for them; kept where the bot looks (MODBOT_TEXT_CACHE_DIR). Without weights in the
# image they are computed, and cached there, at the first start.
ENV MODBOT_TEXT_CACHE_DIR=/opt/modbot/text-embeddings
RUN if [ -n "$(ls -A "${HF_HOME}/hub" 2>/dev/null)" ]; then \
        HF_HUB_OFFLINE=1 modbot classify --prepare --rules /etc/modbot/rules.yaml; \
    fi

RUN useradd --system --uid 10001 --home-dir /var/lib/modbot --shell /usr/sbin/nologin modbot \
    && mkdir -p /var/lib/modbot /opt/modbot/text-embeddings \
    && chown modbot:modbot /var/lib/modbot /opt/modbot/text-embeddings

# Never download at run time: missing weights fail fast with what to do.
ENV HF_HUB_OFFLINE=1 \
    MODBOT_RULES=/etc/modbot/rules.yaml \
    MODBOT_STATE=/var/lib/modbot/modbot.sqlite3

USER modbot
WORKDIR /var/lib/modbot
VOLUME ["/var/lib/modbot"]

# Healthy while the daemon's last good cycle is younger than 3 poll intervals. The
# start period covers loading the model on a slow CPU.
HEALTHCHECK --interval=60s --timeout=15s --start-period=10m --retries=3 \
    CMD ["modbot", "healthcheck"]

ENTRYPOINT ["modbot"]
CMD ["run"]
