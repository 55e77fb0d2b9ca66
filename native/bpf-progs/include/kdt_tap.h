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


/* ---- the capture taps (tap_capture.bpf.c): one record per packet, link type chosen per packet ---- */

/* What the record says about where the frame starts (tap_capture's link_type field). */
#define KDT_TAP_LINK_EN10MB 1 /* at the MAC header of an Ethernet (or loopback) device */
#define KDT_TAP_LINK_RAW 2    /* at the network header */
#define KDT_TAP_LINK_DATA 3   /* at skb->data, for a link type forced with -y */

/* force_link: 0 picks per packet; otherwise one of KDT_TAP_LINK_*. */
#define KDT_TAP_PREFIX_MAX 64  /* header bytes before skb->data that a frame may start with */
#define KDT_TAP_DATA_MAX 16384 /* linear bytes the untyped taps (raw_tp, kprobe) copy */

#define KDT_TAP_HAS_RETVAL 1
#define KDT_TAP_HAS_REASON 2
#define KDT_TAP_HAS_LOCATION 4
#define KDT_TAP_LINEAR_ONLY 8 /* bytes copied from the linear area only (untyped taps) */
#define KDT_TAP_FILTER_UNDECIDED 16 /* the filter needed paged bytes: user space decides on the whole frame */
#define KDT_TAP_DIR_IN 32  /* received: the tap's place, or the skb says so (pkt_type, skb_iif) */
#define KDT_TAP_DIR_OUT 64 /* sent */

#define PACKET_OUTGOING 4
/* --track-skb: the skb is followed (it matched at an earlier tap). On a decided frame: sent only
 * because of that (the filter rejects it here); on an undecided one: user space keeps it either way. */
#define KDT_TAP_TRACKED 0x80

/* --track-skb: skbs followed at once (an LRU map: skbs freed where no tracepoint sees it age out). */
#define KDT_TRACK_MAX 16384
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* Per-CPU counters of every tap program, by index. */
#define KDT_TAP_RUNS 0          /* program runs with an skb */
#define KDT_TAP_FILTERED 1      /* rejected by the filter */
#define KDT_TAP_SKIPPED 2       /* no header for the forced link type */
#define KDT_TAP_OUTPUT_FAILED 3 /* the perf ring had no room: lost */
#define KDT_TAP_UNDECIDED 4     /* sent for user space to filter: the filter read past the linear bytes */
#define KDT_TAP_COUNTERS 5

#define ARPHRD_ETHER 1
#define ARPHRD_LOOPBACK 772

/* The record, little-endian, no padding; TapRecord.cs reads it at these offsets (a test
 * compares them with this struct's BTF). */
struct kdt_tap_record {
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 skb_addr;
	__u64 pid_tgid;
	__u64 retval;   /* fexit: the function's return value */
	__u64 location; /* kfree_skb: where it was freed */
	__u32 len;      /* skb->len */
	__u32 data_len; /* skb->data_len (paged bytes) */
	__u32 ifindex;
	__u32 mark;
	__u32 netns;    /* inode of the device's (or socket's) network namespace */
	__u32 cpu;
	__u32 wire_len; /* the frame's length for its link type */
	__u32 cap_len;  /* frame bytes captured: prefix_len + (data_bytes - skip) */
	__u32 reason;   /* kfree_skb: enum skb_drop_reason */
	__u16 protocol; /* skb->protocol, network byte order */
	__u16 dev_type; /* skb->dev->type (ARPHRD_*), 0 without a device */
	__u16 mac_header;
	__u16 network_header;
	__u16 data_offset; /* skb->data - skb->head */
	__u8 pkt_type;
	__u8 link_type;    /* KDT_TAP_LINK_* */
	__u8 prefix_len;   /* frame bytes in prefix[], before skb->data */
	__u8 flags;        /* KDT_TAP_HAS_* */
	__u16 skip;        /* appended bytes to skip: the frame starts after skb->data */
	__u32 data_bytes;  /* bytes appended after the record, from skb->data */
	char comm[16];
	__u8 prefix[KDT_TAP_PREFIX_MAX];
	__u64 cgroup_id; /* the owner's cgroup (v2) id: the socket's process, else the current task */
};

/* Who a socket belongs to: noted when a task sends or receives on it, connects or listens (in its
 * own context), looked up by (protocol, local port) when a packet of that port passes a tap. */
struct kdt_owner {
	__u32 tgid;
	__u32 tid;
	__u64 cgroup_id;
	__u32 in_cgroup; /* inside select_cgroup (checked when noted, against the task's ancestors) */
	__u32 pad;
	char comm[16];
};

/* bpf_get_current_cgroup_id, bpf_get_current_ancestor_cgroup_id */
static __u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static __u64 (*bpf_get_current_ancestor_cgroup_id)(int level) = (void *)123;

/* The kernel members the capture taps read besides kdt_bpf.h's (flavors of the kernel's
 * structs: matched by name without the ___kdt suffix). */
struct ns_common___kdt {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___kdt {
	struct ns_common___kdt ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net___kdt *net;
} possible_net_t___kdt;

struct net_device___kdt {
	unsigned short type;
	possible_net_t___kdt nd_net;
} __attribute__((preserve_access_index));

struct sock_common___kdt {
	possible_net_t___kdt skc_net;
	unsigned short skc_num; /* local port, host order */
} __attribute__((preserve_access_index));

struct sock___kdt {
	struct sock_common___kdt __sk_common;
	unsigned short sk_protocol;
} __attribute__((preserve_access_index));

struct sk_buff___kdt {
	struct sock___kdt *sk;
	struct net_device___kdt *dev;
	int skb_iif;
} __attribute__((preserve_access_index));

#endif
