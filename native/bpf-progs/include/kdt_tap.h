/* What a tap program sends to user space before the packet bytes. Shared by the perf
 * buffer and ring buffer variants; user space reads it field by field (little-endian,
 * the layout below, no padding). */
#ifndef KDT_TAP_H
#define KDT_TAP_H

#include "kdt_bpf.h"

/* 0xffff in a header offset means "not set" (the kernel's (typeof(h))~0U). */
#define KDT_HEADER_UNSET 0xffff

struct kdt_skb_meta {
	__u64 timestamp_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 skb_addr;       /* the skb's address, to follow it between taps */
	__u32 len;            /* skb->len */
	__u32 data_len;       /* skb->data_len: bytes outside the linear area */
	__u32 ifindex;        /* skb->dev->ifindex, 0 without a device */
	__u32 mark;           /* skb->mark */
	__u32 cap_len;        /* packet bytes that follow, starting at skb->data */
	__u32 pid_tgid_lo;    /* thread id of the current task */
	__u16 protocol;       /* skb->protocol, network byte order as in the skb */
	__u16 data_offset;    /* skb->data - skb->head */
	__u16 mac_header;     /* skb->mac_header, from skb->head */
	__u16 network_header; /* skb->network_header, from skb->head */
	__u32 cpu;
};

static __always_inline void kdt_fill_meta(struct kdt_skb_meta *m, struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	m->timestamp_ns = bpf_ktime_get_ns();
	m->skb_addr = (__u64)skb;
	m->len = skb->len;
	m->data_len = skb->data_len;
	m->ifindex = dev ? dev->ifindex : 0;
	m->mark = skb->mark;
	m->protocol = skb->protocol;
	m->data_offset = (__u16)(skb->data - skb->head);
	m->mac_header = skb->mac_header;
	m->network_header = skb->network_header;
	m->pid_tgid_lo = (__u32)bpf_get_current_pid_tgid();
	m->cpu = bpf_get_smp_processor_id();
}

#endif
