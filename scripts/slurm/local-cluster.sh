#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (munge + slurmctld + slurmd on localhost),
# for the test suite and for trying the job scripts. Idempotent: a running cluster is left as is.
# Debian packages slurm-wlm, munge and procps (pgrep) are installed when missing. Run as root.
# Exit 0 when the node is up and idle; 3 when Slurm cannot be installed or started.
set -uo pipefail

need=()
for p in slurm-wlm munge procps; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "slurm: installing ${need[*]}" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } || { echo "slurm: cannot install ${need[*]}" >&2; exit 3; }
fi

if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  exit 0
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: a key, then the daemon (as root it needs --force).
mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chmod 400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  munged --force 2>/dev/null || { echo "slurm: munged failed to start" >&2; exit 3; }
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=landcarbon
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=${host} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
# proctrack/linuxproc and task/none need no cgroups (often unavailable in containers).
rm -f /etc/slurm/cgroup.conf

pgrep -x slurmctld >/dev/null || slurmctld 2>/dev/null || { echo "slurm: slurmctld failed (see /var/log/slurm/slurmctld.log)" >&2; exit 3; }
pgrep -x slurmd >/dev/null || slurmd 2>/dev/null || { echo "slurm: slurmd failed (see /var/log/slurm/slurmd.log)" >&2; exit 3; }

for _ in $(seq 60); do
  state=$(sinfo -h -o '%T' 2>/dev/null | head -1)
  case "$state" in
    idle|mixed|allocated) exit 0 ;;
    down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null ;;
  esac
  sleep 1
done
echo "slurm: node did not become idle (state: ${state:-none}); logs in /var/log/slurm/" >&2
exit 3
