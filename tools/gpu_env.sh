# Sourced on a GPU machine before running programs packed by tools/gpu_pack.sh:
#   source tools/gpu_env.sh .gpu
# Unpacks the pack, puts its libraries and the machine's own CUDA libraries
# on the loader path, points the tests at the golden folder it carries and
# prints which GPU this is.
pack=$(cd "${1:-.gpu}" && pwd)
[ -f "$pack/pack.tar.xz" ] && tar -C "$pack" -xJf "$pack/pack.tar.xz"
cudalib=$(find /usr/local/cuda/lib64 /usr/local /usr/lib /opt -name 'libcublas.so.13*' 2>/dev/null | head -1)
export LD_LIBRARY_PATH="$pack/lib:${cudalib:+$(dirname "$cudalib"):}${LD_LIBRARY_PATH:-}"
export PATH="$pack/bin:$PATH"
[ -d "$pack/golden" ] && export WT_GOLDEN_DIR="$pack/golden"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "cuBLAS from: ${cudalib:-not found}"
