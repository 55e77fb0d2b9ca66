/* Ring buffer variant of tap_skb_perf: metadata and up to snap_len bytes of the skb's
 * linear area (from skb->data) in one ring buffer record. Bytes in page fragments are
 * not copied: cap_len says how many follow. */
#include "kdt_tap.h"

char LICENSE[] SEC("license") = "GPL";

#define KDT_RINGBUF_MAX_DATA 4096

struct kdt_ring_record {
	struct kdt_skb_meta meta;
	__u8 data[KDT_RINGBUF_MAX_DATA];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} ring SEC(".maps");

/* A per-CPU scratch record: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kdt_ring_record);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

volatile const __u32 snap_len = KDT_RINGBUF_MAX_DATA;

SEC("tp_btf/net_dev_queue")
int tap_net_dev_queue_ring(u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	__u32 zero = 0;
	struct kdt_ring_record *rec = bpf_map_lookup_elem(&scratch, &zero);
	__u64 cap;

	if (!rec)
		return 0;
	kdt_fill_meta(&rec->meta, skb);
	cap = rec->meta.len - rec->meta.data_len;
	if (cap > snap_len)
		cap = snap_len;
	if (cap > KDT_RINGBUF_MAX_DATA)
		cap = KDT_RINGBUF_MAX_DATA;
	rec->meta.cap_len = (__u32)cap;
	if (bpf_probe_read_kernel(rec->data, (__u32)cap, skb->data) < 0)
		rec->meta.cap_len = 0, cap = 0;
	if (bpf_ringbuf_output(&ring, rec, sizeof(rec->meta) + cap, 0) < 0) {
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1;
	}
	return 0;
}
