/* Test program: one program per section kind the loader knows, two programs sharing a
 * section, every map type we create, a .rodata.* section, and BPF-to-BPF calls from
 * several programs into one .text subprogram. Parsed (and partly loaded) by the tests;
 * the socket filters run on a real socket. */
#include "kdt_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); } percpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __uint(map_flags, 1 /* BPF_F_NO_PREALLOC */); __type(key, __u64); __type(value, __u32); } hash SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 256); __uint(key_size, 8); __uint(value_size, 16); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } ring SEC(".maps");

volatile const __u32 min_len = 0;                    /* .rodata */
volatile const char greeting[8] SEC(".rodata.str") = "kdt"; /* a .rodata.* section */
__u32 accepted_total;                                 /* .bss */

static __noinline __u32 bump(__u32 index)
{
	__u64 *count = bpf_map_lookup_elem(&counts, &index);
	if (count)
		__sync_fetch_and_add(count, 1);
	return index;
}

/* Socket filters get the packet length at offset 0 of __sk_buff. */
struct __sk_buff { __u32 len; };

SEC("socket")
int accept_long(struct __sk_buff *skb)
{
	if (skb->len < min_len) {
		bump(1);
		return 0;
	}
	bump(0);
	__sync_fetch_and_add(&accepted_total, 1);
	return -1; /* keep the whole packet */
}

SEC("socket")
int accept_all(struct __sk_buff *skb)
{
	bump(2);
	return -1;
}

SEC("xdp")
int xdp_pass(void *ctx) { bump(3); return 2; /* XDP_PASS */ }

SEC("tc")
int tc_ok(void *ctx) { return 0; }

SEC("classifier")
int classifier_ok(void *ctx) { return 0; }

SEC("tracepoint/syscalls/sys_enter_getpid")
int tracepoint_getpid(void *ctx) { bump(3); return 0; }

SEC("tp/sched/sched_switch")
int tp_sched_switch(void *ctx) { return 0; }

SEC("raw_tracepoint/sched_switch")
int raw_tracepoint_sched_switch(void *ctx) { return 0; }

SEC("raw_tp/sys_enter")
int raw_tp_sys_enter(void *ctx) { return 0; }

SEC("tp_btf/net_dev_queue")
int tp_btf_net_dev_queue(u64 *ctx) { return 0; }

SEC("fentry/ip_rcv")
int fentry_ip_rcv(u64 *ctx) { return 0; }

SEC("fexit/ip_rcv")
int fexit_ip_rcv(u64 *ctx) { return 0; }

SEC("kprobe/ip_output")
int kprobe_ip_output(void *ctx) { return 0; }

SEC("kretprobe/ip_output")
int kretprobe_ip_output(void *ctx) { return 0; }

SEC("iter/task")
int iter_task(void *ctx) { return 0; }
