/* Test program: CO-RE relocation results written to global data, so that the test can
 * compare each with what bpftool reports for this kernel. Runs at raw_tp/sys_enter in
 * the test's own process only (target_tgid is rewritten before load). */
#include "kdt_bpf.h"

char LICENSE[] SEC("license") = "GPL";

volatile const __u32 target_tgid = 0;

/* Declared with values no kernel uses: relocation must replace them. */
enum skb_drop_reason {
	SKB_DROP_REASON_NOT_SPECIFIED = 1000,
	SKB_DROP_REASON_NO_SOCKET = 1001,
	SKB_DROP_REASON_KDT_NOT_A_REASON = 1002,
};

/* A flavor (___suffix) of a kernel struct with a member the kernel does not have. */
struct sk_buff___kdt {
	unsigned int len;
	int kdt_no_such_member;
} __attribute__((preserve_access_index));

struct kdt_no_such_struct {
	int x;
};

struct core_values {
	__u64 skb_size;
	__u64 skb_id_kernel;
	__u64 skb_id_local;
	__u64 skb_exists;
	__u64 missing_struct_exists;
	__u64 len_offset;
	__u64 len_size;
	__u64 len_exists;
	__u64 len_signed;
	__u64 flavor_len_offset;
	__u64 missing_member_exists;
	__u64 ip_summed_offset;
	__u64 ip_summed_size;
	__u64 ip_summed_lshift;
	__u64 ip_summed_rshift;
	__u64 pkt_type_lshift;
	__u64 pkt_type_rshift;
	__u64 mac_header_offset;
	__u64 ifindex_offset;
	__u64 ifindex_signed;
	__u64 dev_offset;
	__u64 mark_offset;
	__u64 reason_not_specified;
	__u64 reason_no_socket;
	__u64 reason_no_socket_exists;
	__u64 reason_missing_exists;
	__u64 runs;
};

struct core_values values;

SEC("raw_tp/sys_enter")
int record_core_values(u64 *ctx)
{
	struct sk_buff *skb = 0;
	struct sk_buff___kdt *flavored = 0;
	struct net_device *dev = 0;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	values.skb_size = kdt_core_type_size(struct sk_buff);
	values.skb_id_kernel = kdt_core_type_id_kernel(struct sk_buff);
	values.skb_id_local = kdt_core_type_id_local(struct sk_buff);
	values.skb_exists = kdt_core_type_exists(struct sk_buff);
	values.missing_struct_exists = kdt_core_type_exists(struct kdt_no_such_struct);
	values.len_offset = kdt_core_field_offset(skb->len);
	values.len_size = kdt_core_field_size(skb->len);
	values.len_exists = kdt_core_field_exists(skb->len);
	values.len_signed = __builtin_preserve_field_info(skb->len, BPF_FIELD_SIGNED);
	values.flavor_len_offset = kdt_core_field_offset(flavored->len);
	values.missing_member_exists = kdt_core_field_exists(flavored->kdt_no_such_member);
	values.ip_summed_offset = kdt_core_field_offset(skb->ip_summed);
	values.ip_summed_size = kdt_core_field_size(skb->ip_summed);
	values.ip_summed_lshift = __builtin_preserve_field_info(skb->ip_summed, BPF_FIELD_LSHIFT_U64);
	values.ip_summed_rshift = __builtin_preserve_field_info(skb->ip_summed, BPF_FIELD_RSHIFT_U64);
	values.pkt_type_lshift = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_LSHIFT_U64);
	values.pkt_type_rshift = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_RSHIFT_U64);
	values.mac_header_offset = kdt_core_field_offset(skb->mac_header);
	values.ifindex_offset = kdt_core_field_offset(dev->ifindex);
	values.ifindex_signed = __builtin_preserve_field_info(dev->ifindex, BPF_FIELD_SIGNED);
	values.dev_offset = kdt_core_field_offset(skb->dev);
	values.mark_offset = kdt_core_field_offset(skb->mark);
	values.reason_not_specified = kdt_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED);
	values.reason_no_socket = kdt_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NO_SOCKET);
	values.reason_no_socket_exists = kdt_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NO_SOCKET);
	values.reason_missing_exists = kdt_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_KDT_NOT_A_REASON);
	values.runs++;
	return 0;
}
