/* Tap at tp_btf/net_dev_queue: the skb's metadata read through CO-RE, followed by up to
 * snap_len packet bytes from skb->data, sent to a perf event array with bpf_skb_output
 * (the kernel copies the bytes, linear part and fragments alike). */
#include "kdt_tap.h"

char LICENSE[] SEC("license") = "GPL"; /* bpf_skb_output is GPL-only */

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* Rewritten before load; at most BPF_F_CTXLEN_MASK's 20 bits. */
volatile const __u32 snap_len = 262144;

SEC("tp_btf/net_dev_queue")
int tap_net_dev_queue(u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct kdt_skb_meta meta = {};
	__u64 cap;

	kdt_fill_meta(&meta, skb);
	cap = meta.len < snap_len ? meta.len : snap_len;
	meta.cap_len = (__u32)cap;
	bpf_skb_output(skb, &events, BPF_F_CURRENT_CPU | ((cap << 32) & BPF_F_CTXLEN_MASK), &meta, sizeof(meta));
	return 0;
}
