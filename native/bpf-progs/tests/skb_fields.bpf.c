/* Test program: at tp_btf/net_dev_queue, for packets whose mark is target_mark (a
 * constant the test rewrites before load), count them and keep the fields of the last
 * one in global data, read through CO-RE (bitfields included). The bookkeeping runs in
 * a BPF-to-BPF call to a .text subprogram. */
#include "kdt_bpf.h"

char LICENSE[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060c00;

volatile const __u32 target_mark = 0;

struct skb_fields {
	__u64 len;
	__u64 data_len;
	__u64 protocol;
	__u64 ifindex;
	__u64 mark;
	__u64 pkt_type;
	__u64 ip_summed;
	__u64 mac_header;
	__u64 network_header;
	__u64 data_offset;
	__u8 first_bytes[16];
};

/* The kernel's tail is 4 bytes (sk_buff_data_t); declared 8 here, the loader must load 4. */
struct sk_buff___wide {
	__u64 tail;
} __attribute__((preserve_access_index));

struct skb_fields last;         /* .bss */
__u64 wide_tail;                /* .bss */
__u64 matched;                  /* .bss */
__u64 calls_made = 7;           /* .data: starts at 7 so the test sees .data's image */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_ifindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} by_len SEC(".maps");

static __noinline int record(struct sk_buff *skb, __u32 ifindex)
{
	__u64 one = 1, *count;
	__u32 len = skb->len;

	last.len = len;
	last.data_len = skb->data_len;
	last.protocol = skb->protocol;
	last.ifindex = ifindex;
	last.mark = skb->mark;
	last.pkt_type = kdt_core_read_bitfield(skb, pkt_type);
	last.ip_summed = kdt_core_read_bitfield(skb, ip_summed);
	last.mac_header = skb->mac_header;
	last.network_header = skb->network_header;
	last.data_offset = skb->data - skb->head;
	bpf_probe_read_kernel(last.first_bytes, sizeof(last.first_bytes), skb->data);
	wide_tail = ((struct sk_buff___wide *)skb)->tail;

	count = bpf_map_lookup_elem(&by_ifindex, &ifindex);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&by_ifindex, &ifindex, &one, BPF_NOEXIST);
	bpf_map_update_elem(&by_len, &len, &one, BPF_ANY);
	calls_made++;
	return 1;
}

SEC("tp_btf/net_dev_queue")
int count_marked(u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct net_device *dev;

	if (skb->mark != target_mark)
		return 0;
	dev = skb->dev;
	__sync_fetch_and_add(&matched, 1);
	return record(skb, dev ? dev->ifindex : 0);
}
