/**
 * cgroup v1 files captured from a real runc container on a hybrid-cgroup host (runc 1.1.5, kernel 6.18,
 * memory limit 32 MiB, pids limit 100, after `sh -c "x=$(head -c 2000000 /dev/zero | tr \"\\0\" a); sleep 100"`).
 * Note the memory hierarchy path differs from the others — it is below the creator's own memory cgroup.
 */

/** /proc/<pid>/cgroup of the container init. */
export const V1_PROC_CGROUP =
  "9:name=systemd:/f1\n8:pids:/f1\n7:blkio:/f1\n6:freezer:/f1\n5:devices:/f1\n4:memory:/process_api/a03293d08c3d9adb3ca9f5e494fd4171/f1\n3:cpuset:/f1\n2:cpuacct:/f1\n1:cpu:/f1\n0::/f1\n";

/** File contents per v1 controller, keyed by file name. */
export const V1_FILES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  memory: {
    "memory.stat":
      "cache 1118208\nrss 53248\nrss_huge 0\nshmem 0\nmapped_file 831488\ndirty 0\nwriteback 0\nworkingset_refault_anon 0\nworkingset_refault_file 273\nswap 0\nswapcached 0\npgpgin 1853\npgpgout 1567\npgfault 1968\npgmajfault 2\ninactive_anon 49152\nactive_anon 4096\ninactive_file 4096\nactive_file 1114112\nunevictable 0\nhierarchical_memory_limit 33554432\nhierarchical_memsw_limit 9223372036854771712\ntotal_cache 1118208\ntotal_rss 53248\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 831488\ntotal_dirty 0\ntotal_writeback 0\ntotal_workingset_refault_anon 0\ntotal_workingset_refault_file 273\ntotal_swap 0\ntotal_swapcached 0\ntotal_pgpgin 1853\ntotal_pgpgout 1567\ntotal_pgfault 1968\ntotal_pgmajfault 2\ntotal_inactive_anon 49152\ntotal_active_anon 4096\ntotal_inactive_file 4096\ntotal_active_file 1114112\ntotal_unevictable 0\n",
    "memory.usage_in_bytes": "1425408\n",
    "memory.limit_in_bytes": "33554432\n",
    "memory.max_usage_in_bytes": "5992448\n",
    "memory.failcnt": "0\n",
    "memory.memsw.usage_in_bytes": "1425408\n",
    "memory.memsw.limit_in_bytes": "9223372036854771712\n",
    "memory.memsw.max_usage_in_bytes": "5992448\n",
    "memory.memsw.failcnt": "0\n",
    "memory.kmem.usage_in_bytes": "253952\n",
    "memory.kmem.limit_in_bytes": "9223372036854771712\n",
    "memory.kmem.max_usage_in_bytes": "806912\n",
    "memory.kmem.failcnt": "0\n",
    "memory.kmem.tcp.usage_in_bytes": "0\n",
    "memory.kmem.tcp.limit_in_bytes": "9223372036854771712\n",
    "memory.kmem.tcp.max_usage_in_bytes": "0\n",
    "memory.kmem.tcp.failcnt": "0\n",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
  },
  cpu: {
    "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n",
  },
  cpuacct: {
    "cpuacct.stat": "user 4\nsystem 9\n",
    "cpuacct.usage": "143820071\n",
    "cpuacct.usage_percpu": "38287034 105533037 \n",
  },
  pids: {
    "pids.current": "1\n",
    "pids.max": "100\n",
  },
  blkio: {
    "blkio.throttle.io_service_bytes_recursive": "Total 0\n",
    "blkio.throttle.io_serviced_recursive": "Total 0\n",
  },
};

/** /proc/self/mountinfo of the same host (cgroup lines and a few others). */
export const V1_MOUNTINFO = [
  "21 26 0:20 / /proc rw,relatime - proc proc rw",
  "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
  "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
  "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
  "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices",
  "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
  "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio",
  "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
  "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
  "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
  "",
].join("\n");
