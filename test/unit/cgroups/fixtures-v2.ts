/**
 * Synthetic cgroup v2 files in the kernel's formats (Documentation/admin-guide/cgroup-v2.rst). This host
 * has no v2 memory/cpu/pids controllers, so these are written by hand, not captured.
 */
export const V2_FILES: Readonly<Record<string, string>> = {
  "pids.current": "3\n",
  "pids.max": "max\n",
  "cpu.stat":
    "usage_usec 250000\nuser_usec 150000\nsystem_usec 100000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 3000\nnr_bursts 0\nburst_usec 0\n",
  "memory.current": "2097152\n",
  "memory.max": "16777216\n",
  "memory.swap.current": "0\n",
  "memory.swap.max": "max\n",
  "memory.stat":
    "anon 1048576\nfile 524288\nkernel_stack 16384\nslab 65536\nsock 0\nshmem 4096\nfile_mapped 8192\nfile_dirty 0\n" +
    "file_writeback 0\nanon_thp 0\ninactive_anon 1040384\nactive_anon 8192\ninactive_file 262144\nactive_file 262144\n" +
    "unevictable 0\nslab_reclaimable 32768\nslab_unreclaimable 32768\npgfault 1500\npgmajfault 3\n" +
    "workingset_refault_anon 1\nworkingset_refault_file 4\nworkingset_activate_anon 0\nworkingset_activate_file 2\n" +
    "workingset_nodereclaim 0\npgrefill 0\npgscan 0\npgsteal 0\npgactivate 5\npgdeactivate 0\npglazyfree 0\npglazyfreed 0\n" +
    "thp_fault_alloc 0\nthp_collapse_alloc 0\n",
  "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n",
  "io.stat":
    "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
  "hugetlb.2MB.current": "0\n",
  "hugetlb.2MB.max": "max\n",
  "hugetlb.1GB.current": "1073741824\n",
  "hugetlb.1GB.max": "2147483648\n",
  "rdma.current": "mlx4_0 hca_handle=2 hca_object=2000\n",
  "rdma.max": "mlx4_0 hca_handle=max hca_object=max\n",
};
