/* biolatency: block I/O latency from issue to completion (block:block_rq_issue/complete) or,
 * with queued, from insertion into the queue (block_rq_insert), as log2 histograms: one, one
 * per disk (id = MKDEV(major, first_minor)) or one per request's cmd_flags (id = flags). */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

volatile const bool queued = false;
volatile const bool milliseconds = false;
/* 0: one histogram, 1: per disk, 2: per cmd_flags */
volatile const __u32 per = 0;

struct gendisk {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct kdt_hist_key);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline void request_started(struct request *rq, __u64 flags)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();

	bpf_map_update_elem(&start, &key, &now, flags);
}

SEC("tp_btf/block_rq_insert")
int biolatency_insert(u64 *ctx)
{
	if (queued)
		request_started((struct request *)ctx[0], BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int biolatency_issue(u64 *ctx)
{
	/* With queued, a request that went through the scheduler keeps its insertion time. */
	request_started((struct request *)ctx[0], queued ? BPF_NOEXIST : BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int biolatency_complete(u64 *ctx)
{
	struct request *rq = (struct request *)ctx[0];
	__u64 key = (__u64)rq, *ts = bpf_map_lookup_elem(&start, &key), delta;
	struct kdt_hist_key hk = {};

	if (!ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&start, &key);
	if (per == 1) {
		struct gendisk *disk = rq->q->disk;

		if (disk)
			hk.id = ((__u32)disk->major << 20) | (__u32)disk->first_minor;
	} else if (per == 2) {
		hk.id = rq->cmd_flags;
	}
	hk.slot = kdt_log2_slot(milliseconds ? delta / 1000000 : delta / 1000);
	kdt_map_add(&hist, &hk, 1);
	return 0;
}
