#!/usr/bin/env bash
# Every GPU figure the open issues ask for, in one run on a machine with one CUDA GPU:
#
#   bash benchmarks/gpu.sh [OUT_DIR]      # default: $OUT (the device tool's), else ./gpu-results
#
# Each benchmark's output goes to OUT_DIR/<name>.txt (its figures are the last lines),
# its exit status to a line of OUT_DIR/status.txt (the device tool brings back at most
# 8 files: machine.txt, status.txt and six benchmarks); one failure does not stop the others,
# and a benchmark script not written yet is noted and skipped. Needs a Python with a
# CUDA build of torch and modbot installed ($PYTHON, default .venv/bin/python; see the
# README's "GPU vs CPU install"; or modbot's dependencies on PYTHONPATH, run from the
# checkout); it installs nothing and downloads nothing (random weights). Add a line per
# new GPU figure below, in the same form.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu-results}}"
py="${PYTHON:-.venv/bin/python}"
mkdir -p "$out"
export MODBOT_TEXT_CACHE_DIR="${MODBOT_TEXT_CACHE_DIR:-$(mktemp -d)}"

# what the whole script may take (a device lease's command runs at most 10 minutes, the
# wheels' install included): a benchmark that would end past it is skipped, said so
budget="${GPU_SH_BUDGET:-500}"

run() {  # run NAME SECONDS SCRIPT ARGS...: one benchmark, at most SECONDS, into OUT_DIR/NAME.txt
    local name="$1" limit="$2" script="$3"
    shift 3
    if (( SECONDS + limit > budget )); then
        echo "$name: skipped, ${SECONDS} s gone and it may take $limit of the $budget s budget" | tee "$out/$name.txt"
        return
    fi
    if [ ! -f "$script" ]; then
        echo "$name: $script does not exist (yet): skipped" | tee "$out/$name.txt"
        return
    fi
    echo "== $name: $py $script $* (at most $limit s)"
    local start=$SECONDS
    PYTHONUNBUFFERED=1 timeout -k 10 "$limit" "$py" "$script" "$@" > "$out/$name.txt" 2>&1
    local status=$?
    echo "$name $status" >> "$out/status.txt"
    echo "   exit $status after $((SECONDS - start)) s; last line: $(tail -n 1 "$out/$name.txt")"
}

{ nvidia-smi; "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"; } \
    > "$out/machine.txt" 2>&1

# The open issue's figures first; each has a time limit (exit 124 when it ran out, its
# output so far kept), so that the whole script fits one device lease (~9 min).
# issue 10: what feeds the GPU: the model alone; the engine alone with the reference's
# views made by the inference thread, the decode threads, the decoding processes
# (views_in_processes) and Pillow in the decoding processes, alternating, with its own
# process's CPU an image each way; decoding in threads, in processes (the engine's
# process decoder: pixels through the pipe, in shared memory, page-locked, views made
# there), nvJPEG
run feed 170 benchmarks/gpu_feed.py --device cuda --model ViT-L-14 --images 1024
# issue 10: the whole bot vs the engine alone, 4,096 posts (>= 1,500 images/s end to end,
# R >= 0.9), the views made in the decoding processes, then as by default (the decode
# threads); classifier.decode_processes is auto: one decoding process per core on cuda
run pipeline-views 165 benchmarks/pipeline.py --model ViT-L-14 --random-weights --device cuda --posts 4096 --batch 256 --runs 1 --views-in-processes
run pipeline 165 benchmarks/pipeline.py --model ViT-L-14 --random-weights --device cuda --posts 4096 --batch 256 --runs 1
# issue 10: the reference's view made on the GPU vs in the decode threads (CPU per image each way)
run resample 45 benchmarks/resample.py --device cuda --images 1024
# issue 11 (and the classifier section of BENCHMARKS.md): engine vs the reference way, ViT-L-14 fp16
run classifier 90 benchmarks/classifier.py --model ViT-L-14 --random-weights --device cuda --images 4096 --batch 256
# issue 11: the worker over HTTP vs the engine in-process; target >= 1,000 images/s at 64 clients
run worker 60 benchmarks/worker.py --model ViT-L-14 --device cuda --concurrency 1,4,16,64 --images 1024 --batch 256 --client-procs 4
# issue 11: the upload gate's latency, ViT-L-14 fp16 on a GPU worker (p99 < 300 ms at 16
# concurrent uploads), and the worker's images/s at 64 clients against the engine in-process
run gate 60 benchmarks/gate.py --model ViT-L-14 --device cuda --concurrency 1,4,16,64 --uploads 512 --batch 256 --client-procs 4

echo "figures in $out/"
