# modbot: the Lemmy automoderator, with the CUDA build of PyTorch and (by default) the
# real ViT-L-14/openai and DeepDanbooru weights baked in, so the container never
# downloads at run time.
#
#   docker build -t modbot .                                 # weights fetched (~2.3 GB)
#   docker build -t modbot --build-arg MODBOT_FETCH_WEIGHTS=0 .   # mount a HF cache instead
#   docker run --gpus all --env-file .env -v modbot-state:/var/lib/modbot modbot
#
# Configured by environment (see .env.example): LEMMY_URL, LEMMY_USERNAME, LEMMY_PASSWORD,
# PICTRS_URL, PICTRS_API_KEY; the policy is /etc/modbot/rules.yaml (mount yours over it,
# with its hashes/ folder). Without a GPU it runs on the CPU (slower; fine when small).
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
FROM ${CUDA_IMAGE}

# 1: download ViT-L-14/openai and DeepDanbooru into the image's Hugging Face cache at build time.
ARG MODBOT_FETCH_WEIGHTS=1
# The CUDA wheels of torch (they bring their own CUDA libraries; the host needs the
# NVIDIA driver and container toolkit). Same versions as constraints-cpu.txt.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_VERSION=2.13.0
ARG TORCHVISION_VERSION=0.28.0

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/modbot/venv/bin:$PATH \
    HF_HOME=/opt/modbot/hf

# Ubuntu 24.04's Python is 3.12 (modbot needs >= 3.11).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/modbot/venv \
    && pip install --index-url "${TORCH_INDEX_URL}" \
        "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"

WORKDIR /opt/modbot/src
COPY pyproject.toml README.md LICENSE ./
COPY classifier ./classifier
COPY modbot ./modbot
# torch is already there: pip keeps it (pyproject only asks torch>=2.4).
RUN pip install . && modbot --version

# The real weights, loaded once through modbot's own loader so the cache layout is
# exactly what it looks for at run time; then DeepDanbooru's (the anime second pass,
# ~614 MB, sha256 checked) into $HF_HOME, where classifier.deepdanbooru: auto finds it,
# loaded once the same way.
RUN if [ "${MODBOT_FETCH_WEIGHTS}" = "1" ]; then \
        python3 -c "from classifier.model import ModelSpec, load_model; load_model(ModelSpec(name='ViT-L-14', pretrained='openai', device='cpu'))" \
        && python3 -c "from classifier.deepdanbooru import download_weights, load_deepdanbooru; download_weights(); assert load_deepdanbooru('auto', 'cpu') is not None"; \
    else \
        echo "MODBOT_FETCH_WEIGHTS=0: no weights in the image; mount a Hugging Face cache at ${HF_HOME}"; \
    fi

# The shipped policy; mount your own rules.yaml and hashes/ over /etc/modbot.
COPY rules.yaml /etc/modbot/rules.yaml
COPY hashes /etc/modbot/hashes

RUN useradd --system --uid 10001 --home-dir /var/lib/modbot --shell /usr/sbin/nologin modbot \
    && mkdir -p /var/lib/modbot \
    && chown modbot:modbot /var/lib/modbot

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
