#!/usr/bin/env bash
# Submits a landcarbon pipeline to Slurm: a job array for the chunks (one task per shard) and a
# merge job that starts when every task has succeeded.
#
#   scripts/slurm/submit.sh CONFIG [--shards N] [--missing] [--output DIR] [--partition P]
#                           [--time T] [--cpus C] [--mem MB] [--merge-mem MB] [--dry-run]
#                           [-- EXTRA SBATCH ARGS]
#
# 1. `landcarbon plan CONFIG --shards N` deals the chunks to N shards balanced by point count
#    and suggests the CPUs and memory of a task; the shard manifest is kept in
#    OUTPUT/slurm/shards-<time>.json.
# 2. `sbatch --array=0-(N-1) --cpus-per-task=C --mem=M map.sbatch`: task i runs
#    `landcarbon run CONFIG --plan SHARDS.json --shard i/N --threads C`.
# 3. `sbatch --dependency=afterok:<array> merge.sbatch`: `landcarbon merge CONFIG`.
# Prints the job ids ("array job: ID", "merge job: ID") and records them in OUTPUT/slurm/.
#
# --missing resubmits only the chunks not yet complete (`plan --missing`), e.g. after a task
# failed or ran out of time: completed chunks are never redone. A merge job left waiting on a
# failed array (DependencyNeverSatisfied) is cancelled first; while tasks of the previous array
# are still queued or running, --missing refuses (they would run the same chunks twice).
#
# Options: --shards N (default 16; fewer when there are fewer chunks), --output DIR (default
# [run] output of CONFIG), --partition P, --time T (both jobs' time limit, sbatch format),
# --cpus C (threads per task; default: the config's `threads`, else 4), --mem MB (per task;
# default: the plan's estimate), --merge-mem MB (default: max(task memory, 4096)),
# --dry-run (plan, then print the sbatch commands without submitting). Arguments after `--` go
# to both sbatch calls (e.g. --account=A --qos=Q).
#
# The binary is $LANDCARBON_BIN, else `landcarbon` on PATH; the jobs get its absolute path, so
# it must be visible from the compute nodes (as must CONFIG, its inputs and OUTPUT: a shared
# file system).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "submit.sh: $*" >&2; exit 1; }

config="" shards=16 missing=0 output="" partition="" time_limit="" cpus="" mem="" merge_mem=""
dry=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shards) shards=${2:?--shards needs a value}; shift 2 ;;
    --missing) missing=1; shift ;;
    --output|-o) output=${2:?--output needs a value}; shift 2 ;;
    --partition|-p) partition=${2:?--partition needs a value}; shift 2 ;;
    --time|-t) time_limit=${2:?--time needs a value}; shift 2 ;;
    --cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
    --mem) mem=${2:?--mem needs a value}; shift 2 ;;
    --merge-mem) merge_mem=${2:?--merge-mem needs a value}; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "submit.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$config" ] || die "one CONFIG only (got '$config' and '$1')"; config=$1; shift ;;
  esac
done
[ -n "$config" ] || usage
[ -f "$config" ] || die "$config: no such file"
for v in shards cpus mem merge_mem; do
  val=${!v}
  if [ -n "$val" ] && ! [[ "$val" =~ ^[1-9][0-9]*$ ]]; then
    die "--${v//_/-} must be a positive integer, got '$val'"
  fi
done

bin=${LANDCARBON_BIN:-$(command -v landcarbon || true)}
[ -n "$bin" ] || die "no landcarbon binary: set LANDCARBON_BIN or put landcarbon on PATH"
bin=$(realpath "$(command -v "$bin" || echo "$bin")")
[ -x "$bin" ] || die "$bin is not executable"
config=$(realpath "$config")
if [ "$dry" = 0 ]; then
  command -v sbatch >/dev/null || die "sbatch not found (is this a Slurm login node?)"
fi

# 1. The shard manifest.
tmp_plan=$(mktemp "${TMPDIR:-/tmp}/landcarbon-plan.XXXXXX")
trap 'rm -f "$tmp_plan"' EXIT
plan_args=(plan -q "$config" --shards "$shards" -o "$tmp_plan")
[ "$missing" = 1 ] && plan_args+=(--missing)
[ -n "$output" ] && plan_args+=(--output-dir "$output")
[ -n "$cpus" ] && plan_args+=(--threads "$cpus")
"$bin" "${plan_args[@]}" || die "landcarbon plan failed"

# Top-level scalars of the manifest (serde_json pretty-printing: two-space indent, one per line).
num_field() { sed -n "s/^  \"$1\": \([0-9][0-9]*\),\{0,1\}\$/\1/p" "$tmp_plan" | head -1; }
str_field() { sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$tmp_plan" | head -1; }
out=$(str_field output)
case "$out" in *\\*) die "output path '$out' has a backslash or quote: not supported" ;; esac
n=$(num_field n_shards)
n_chunks=$(num_field n_chunks)
plan_cpus=$(num_field cpus_per_task)
plan_mem=$(num_field mem_mb_per_task)
for v in out n n_chunks plan_cpus plan_mem; do
  [ -n "${!v}" ] || die "cannot read '$v' from the shard manifest written by $bin plan"
done
cpus=${cpus:-$plan_cpus}
mem=${mem:-$plan_mem}
merge_mem=${merge_mem:-$(( mem > 4096 ? mem : 4096 ))}

slurm_dir="$out/slurm"
mkdir -p "$slurm_dir/logs"
stamp=$(date +%Y%m%dT%H%M%S)-$$
plan="$slurm_dir/shards-$stamp.json"
cp "$tmp_plan" "$plan"

common=()
[ -n "$partition" ] && common+=(--partition="$partition")
[ -n "$time_limit" ] && common+=(--time="$time_limit")
common+=(--export="ALL,LANDCARBON_BIN=$bin")
common+=("${extra[@]}")

# --missing: the previous submission must be over; its stranded merge job is cancelled.
if [ "$missing" = 1 ] && [ "$dry" = 0 ]; then
  if [ -s "$slurm_dir/array.jobid" ]; then
    prev=$(cat "$slurm_dir/array.jobid")
    if squeue -h -j "$prev" -o '%T' 2>/dev/null | grep -qE 'PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED|SUSPENDED'; then
      die "array job $prev still has tasks queued or running: wait for it (or scancel $prev) before --missing"
    fi
  fi
  if [ -s "$slurm_dir/merge.jobid" ]; then
    prev=$(cat "$slurm_dir/merge.jobid")
    if squeue -h -j "$prev" -o '%T' 2>/dev/null | grep -q PENDING; then
      echo "cancelling merge job $prev (its array did not succeed)"
      scancel "$prev" || die "scancel $prev failed"
    fi
  fi
fi

run_sbatch() {
  # Prints the job id (sbatch --parsable gives "id" or "id;cluster").
  if [ "$dry" = 1 ]; then
    printf '%q ' sbatch "$@" >&2
    echo >&2
    echo "DRYRUN"
    return
  fi
  local id
  id=$(sbatch --parsable "$@") || die "sbatch failed: sbatch $*"
  echo "${id%%;*}"
}

array_id=""
if [ "$n_chunks" -gt 0 ]; then
  array_id=$(run_sbatch --job-name=landcarbon-map --array="0-$((n - 1))" \
    --cpus-per-task="$cpus" --mem="${mem}M" \
    --output="$slurm_dir/logs/map-%A_%a.out" "${common[@]}" \
    "$here/map.sbatch" "$config" "$plan" "$out" "$n")
  dep=(--dependency="afterok:$array_id")
else
  echo "no chunk left to run: submitting the merge only"
  dep=()
fi
merge_id=$(run_sbatch --job-name=landcarbon-merge "${dep[@]}" \
  --cpus-per-task="$cpus" --mem="${merge_mem}M" \
  --output="$slurm_dir/logs/merge-%j.out" "${common[@]}" \
  "$here/merge.sbatch" "$config" "$out")

if [ "$dry" = 1 ]; then
  echo "dry run: nothing submitted ($n_chunks chunk(s) in $n shard(s), $cpus CPU(s) and ${mem}M per task; plan in $plan)"
  exit 0
fi
[ -n "$array_id" ] && echo "$array_id" > "$slurm_dir/array.jobid"
echo "$merge_id" > "$slurm_dir/merge.jobid"
echo "$(date -Is) array=${array_id:-none} merge=$merge_id shards=$n chunks=$n_chunks plan=$plan" >> "$slurm_dir/jobs.log"
[ -n "$array_id" ] && echo "array job: $array_id ($n task(s) over $n_chunks chunk(s), $cpus CPU(s) and ${mem}M each)"
echo "merge job: $merge_id${array_id:+ (after array job $array_id succeeds)}"
echo "outputs in $out; job logs in $slurm_dir/logs/"
