/* lockstat: kernel lock contention (lock:contention_begin/end): how long tasks wait, as a
 * log2 histogram, and per lock and calling stack: count, total and longest wait. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_STACK 16

volatile const bool milliseconds = false;

struct wait_start {
	__u64 ts;
	__u64 lock;
	__s32 stack;
	__u32 flags;
};

struct lock_key {
	__u64 lock;
	__s32 stack;
	__u32 flags;
};

struct lock_stat {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct wait_start);
} waiting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384); /* roomy: a bucket taken by another stack loses this one */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct lock_key);
	__type(value, struct lock_stat);
} locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct kdt_hist_key);
	__type(value, __u64);
} hist SEC(".maps");

SEC("tp_btf/contention_begin")
int lockstat_begin(u64 *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct wait_start w = {};

	if (!kdt_current_wanted())
		return 0;
	w.ts = bpf_ktime_get_ns();
	w.lock = ctx[0];
	w.flags = (__u32)ctx[1];
	w.stack = bpf_get_stackid(ctx, &stacks, 0);
	/* A spinning mutex waiter reports begin twice (spin, then sleep): keep the first. */
	bpf_map_update_elem(&waiting, &tid, &w, BPF_NOEXIST);
	return 0;
}

SEC("tp_btf/contention_end")
int lockstat_end(u64 *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lock_key key = {};
	struct lock_stat *st, zero = {};
	struct kdt_hist_key hk = {};
	struct wait_start *w;
	__u64 delta;

	w = bpf_map_lookup_elem(&waiting, &tid);
	if (!w || w->lock != ctx[0])
		return 0;
	delta = bpf_ktime_get_ns() - w->ts;
	key.lock = w->lock;
	key.stack = w->stack;
	key.flags = w->flags;
	bpf_map_delete_elem(&waiting, &tid);

	st = bpf_map_lookup_elem(&locks, &key);
	if (!st) {
		bpf_map_update_elem(&locks, &key, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&locks, &key);
		if (!st)
			return 0;
	}
	__sync_fetch_and_add(&st->count, 1);
	__sync_fetch_and_add(&st->total_ns, delta);
	if (delta > st->max_ns)
		st->max_ns = delta;

	hk.slot = kdt_log2_slot(delta / (milliseconds ? 1000000 : 1000));
	kdt_map_add(&hist, &hk, 1);
	return 0;
}
