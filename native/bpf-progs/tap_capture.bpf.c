/* The capture taps behind `kdt capture -i KIND/NAME`: one program per attach kind, all
 * sharing kdt_tap_run. Each finds the skb among its arguments (skb_arg, set by user space
 * from BTF), picks where the frame starts (MAC header on an Ethernet device → EN10MB,
 * else the network header → RAW, or what -y forced), runs the filter (a stub subprogram
 * that user space replaces with the translated pcap filter, one per link type), and sends
 * a kdt_tap_record followed by the packet bytes to the perf event array `events`.
 *
 * The BTF-typed taps (tp_btf, fentry, fexit) append the bytes with bpf_skb_output, which
 * copies linear and paged data alike; raw_tp and kprobe cannot use it and copy up to
 * KDT_TAP_DATA_MAX linear bytes with bpf_probe_read_kernel. The loader renames each
 * program's section to the tap's target and loads only the program it needs. */
#include "kdt_tap.h"

char LICENSE[] SEC("license") = "GPL"; /* bpf_skb_output and bpf_probe_read_kernel are GPL-only */

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct kdt_tap_scratch {
	struct kdt_tap_record rec;
	__u8 data[KDT_TAP_DATA_MAX];
};

/* The record is built here: too big for the 512-byte stack the filter also needs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kdt_tap_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KDT_TAP_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* --track-skb: the skbs that matched the filter at some tap, mapped to when (ktime). User space
 * hands the same map to every tap program of a capture, so a tracked skb is sent again at every
 * other tap even when its headers no longer match (NAT, tunnels), until a freeing tap forgets it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KDT_TRACK_MAX);
	__type(key, __u64);
	__type(value, __u64);
} tracked_skbs SEC(".maps");

/* fexit taps: at the function's return the skb may have been handed on and freed (ip_output over
 * loopback: the receiver consumed it before ip_output returns), so kdt_tap_fexit_entry runs the
 * filter and copies the frame at the function's entry, keyed by (skb, thread), and kdt_tap_fexit
 * sends that copy with the return value. An LRU map: an entry whose exit never comes (the fexit
 * program attached after the call began) ages out. User space sizes it (calls in flight at once). */
struct kdt_stash_key {
	__u64 skb;
	__u64 pid_tgid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, struct kdt_stash_key);
	__type(value, struct kdt_tap_scratch);
} fexit_stash SEC(".maps");

/* --drop-reason: at taps with a drop reason, keep only the reasons whose bit is set (reasons past
 * 255, e.g. a subsystem's, follow reason_keep_other). */
volatile const __u32 reason_select = 0;
volatile const __u64 reason_keep[4] = {};
volatile const __u32 reason_keep_other = 0;

static __always_inline bool kdt_reason_kept(__u64 reason)
{
	if (reason >= 256)
		return reason_keep_other;
	return (reason_keep[(reason >> 6) & 3] >> (reason & 63)) & 1;
}

volatile const __u32 track_skb = 0;  /* 1: follow the skbs that match */
volatile const __u32 track_free = 0; /* 1: this tap frees the skb (kfree_skb, consume_skb): forget it afterwards */

/* (protocol << 16 | local port) → the socket's owner; filled by the kdt_owner_* programs, which
 * user space attaches only when packets are selected by process (--pid, --comm, --cgroup). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct kdt_owner);
} owners SEC(".maps");

/* Rewritten by user space before load (frozen .rodata: the verifier prunes what they rule out). */
volatile const __u32 snap_len = 262144;
volatile const __u32 skb_arg = 0;       /* which argument is the skb */
volatile const __s32 retval_arg = -1;   /* fexit: the slot after the arguments */
volatile const __s32 reason_arg = -1;   /* kfree_skb: enum skb_drop_reason */
volatile const __s32 location_arg = -1; /* kfree_skb: the freeing location */
volatile const __u32 force_link = 0;    /* 0 or KDT_TAP_LINK_* */
volatile const __u32 tap_role = 0;       /* KDT_TAP_DIR_IN/OUT where the tap's place in the stack says, else 0 */
volatile const __u32 want_direction = 0; /* -Q in/out: KDT_TAP_DIR_IN/OUT; 0 keeps both */
/* Selection by process, before the filter: each set one must match the packet's owner. */
volatile const __u32 select_owner = 0;        /* 1: one of the three below is set */
volatile const __u32 select_pid = 0;          /* --pid: the owner's tgid */
volatile const char select_comm[16] = {};     /* --comm: the owner's comm (empty: any) */
volatile const __u64 select_cgroup = 0;       /* --cgroup: an ancestor cgroup id of the owner */
volatile const __u32 select_cgroup_level = 0; /* that cgroup's level (root 0) */
volatile const __u32 select_netns = 0;        /* --netns: the packet's network namespace inode */

/* perf records carry their size in 16 bits: keep record + bytes below it. */
#define KDT_TAP_OUTPUT_MAX (65535 - 8 - 4 - (int)sizeof(struct kdt_tap_record))

static __always_inline void kdt_count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &which);
	if (n)
		*n += 1;
}

/* The filter stubs: accept everything. User space replaces their code with the translated
 * filter (calling convention of KdtCapture.Filters.Ebpf: frame address, bytes readable
 * there, wire length → 0 to drop, else the snapshot length; 1 << 32 when a load needed a
 * byte of the packet past the readable ones, i.e. paged data: "undecided"). The empty asm
 * keeps clang from dropping arguments or folding the result into the caller. */
static __noinline __u64 kdt_filter_en10mb(__u64 frame, __u32 available, __u32 wire_len)
{
	__u64 verdict = 0xffffffff;
	asm volatile("" : "+r"(verdict) : "r"(frame), "r"(available), "r"(wire_len));
	return verdict;
}

static __noinline __u64 kdt_filter_raw(__u64 frame, __u32 available, __u32 wire_len)
{
	__u64 verdict = 0xffffffff;
	asm volatile("" : "+r"(verdict) : "r"(frame), "r"(available), "r"(wire_len));
	return verdict;
}

static __noinline __u64 kdt_filter_data(__u64 frame, __u32 available, __u32 wire_len)
{
	__u64 verdict = 0xffffffff;
	asm volatile("" : "+r"(verdict) : "r"(frame), "r"(available), "r"(wire_len));
	return verdict;
}

/* Kernel memory reads; `typed` must be in scope (a constant after inlining). A typed tap's skb is
 * a BTF pointer: plain loads, which the verifier checks and the JIT guards against faults (a few ns
 * each). An untyped tap's skb is a number: a bpf_probe_read_kernel call per field (~50 ns each in
 * this VM; with a dozen fields they were a third of the program's cost per packet). */
#define KDT_READ(dst, src)                                                      \
	do {                                                                    \
		if (typed)                                                      \
			(dst) = (src);                                          \
		else                                                            \
			bpf_probe_read_kernel(&(dst), sizeof(dst), &(src));     \
	} while (0)

/* A bitfield, shifted as the loader computed for this kernel. */
#define KDT_READ_BITFIELD(s, field) ({                                                          \
	unsigned long long __v = 0;                                                             \
	if (typed) {                                                                            \
		__v = kdt_core_read_bitfield(s, field);                                         \
	} else {                                                                                \
		bpf_probe_read_kernel(&__v, kdt_core_field_size((s)->field),                    \
				      (const void *)(s) + kdt_core_field_offset((s)->field));   \
		__v <<= __builtin_preserve_field_info((s)->field, BPF_FIELD_LSHIFT_U64);        \
		__v >>= __builtin_preserve_field_info((s)->field, BPF_FIELD_RSHIFT_U64);        \
	}                                                                                       \
	__v;                                                                                    \
})

static __always_inline __u32 kdt_netns(struct sk_buff *skb, bool typed)
{
	struct sk_buff___kdt *s = (void *)skb;
	struct net_device___kdt *dev = NULL;
	struct sock___kdt *sk = NULL;
	struct net___kdt *net = NULL;
	__u32 inum = 0;

	KDT_READ(dev, s->dev);
	if (dev)
		KDT_READ(net, dev->nd_net.net);
	if (!net) {
		KDT_READ(sk, s->sk);
		if (sk)
			KDT_READ(net, sk->__sk_common.skc_net.net);
	}
	if (net)
		KDT_READ(inum, net->ns.inum);
	return inum;
}

/* Which way the packet goes: the tap's place where it has one (net_dev_queue sends, netif_receive_skb
 * receives); else what the skb says: PACKET_OUTGOING, a receiving device (skb_iif is set when a device
 * received it), an owning socket on a packet never received (sent by it); else unknown (0). */
static __always_inline __u8 kdt_direction(struct sk_buff *skb, __u8 pkt_type, bool typed)
{
	struct sk_buff___kdt *s = (void *)skb;
	struct sock___kdt *sk = NULL;
	int iif = 0;

	if (tap_role)
		return (__u8)tap_role;
	if (pkt_type == PACKET_OUTGOING)
		return KDT_TAP_DIR_OUT;
	KDT_READ(iif, s->skb_iif);
	if (iif)
		return KDT_TAP_DIR_IN;
	KDT_READ(sk, s->sk);
	return sk ? KDT_TAP_DIR_OUT : 0;
}

/* The owner as the current task is now: what a task sending a packet, or a socket being noted, has. */
static __always_inline void kdt_owner_current(struct kdt_owner *o)
{
	__u64 id = bpf_get_current_pid_tgid();

	o->tgid = id >> 32;
	o->tid = (__u32)id;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->in_cgroup = select_cgroup && bpf_get_current_ancestor_cgroup_id(select_cgroup_level) == select_cgroup;
	o->pad = 0;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Notes the current task as the owner of sk's (protocol, local port). */
static __always_inline void kdt_owner_note(void *sk)
{
	struct sock___kdt *s = (void *)sk;
	struct kdt_owner o;
	__u16 port = 0, protocol = 0;
	__u32 key;
	const bool typed = false; /* the tracepoint's sock is read with bpf_probe_read_kernel */

	if (!s)
		return;
	KDT_READ(port, s->__sk_common.skc_num);
	KDT_READ(protocol, s->sk_protocol);
	if (!port || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return;
	key = (__u32)protocol << 16 | port;
	kdt_owner_current(&o);
	bpf_map_update_elem(&owners, &key, &o, BPF_ANY);
}

/* The packet's (protocol, port) key on this side — source when sent, destination when received —
 * read from its IPv4/IPv6 header (first fragment, no IPv6 extension headers); 0 when none. */
static __always_inline __u32 kdt_packet_key(unsigned char *head, __u16 network_header, __u16 protocol_be, bool source)
{
	__u8 b[8] = {};
	__u8 l4;
	__u32 at;
	__u16 port;

	if (network_header == KDT_HEADER_UNSET)
		return 0;
	if (protocol_be == 0x0008) { /* ETH_P_IP, network order */
		if (bpf_probe_read_kernel(b, 8, head + network_header) < 0)
			return 0;
		at = (b[0] & 0xf) * 4;
		if (bpf_probe_read_kernel(b, 2, head + network_header + 6) < 0 || ((b[0] & 0x1f) | b[1]))
			return 0; /* a later fragment: no ports */
		if (bpf_probe_read_kernel(&l4, 1, head + network_header + 9) < 0)
			return 0;
	} else if (protocol_be == 0xdd86) { /* ETH_P_IPV6 */
		if (bpf_probe_read_kernel(&l4, 1, head + network_header + 6) < 0)
			return 0;
		at = 40;
	} else {
		return 0;
	}
	if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP)
		return 0;
	if (bpf_probe_read_kernel(b, 4, head + network_header + (at & 0x3f)) < 0)
		return 0;
	port = source ? (__u16)(b[0] << 8 | b[1]) : (__u16)(b[2] << 8 | b[3]);
	return port ? (__u32)l4 << 16 | port : 0;
}

/* Whether the packet belongs to the selected process/comm/cgroup. Sent packets belong to their
 * socket's owner, else to the sending task; received ones to the owner of the socket of their
 * destination port, if one was noted. The record then names that owner. */
static __always_inline bool kdt_selected(struct kdt_tap_record *rec, unsigned char *head)
{
	struct kdt_owner current, *o = NULL;
	__u8 dir = rec->flags & (KDT_TAP_DIR_IN | KDT_TAP_DIR_OUT);
	__u32 key;

	__u32 source = 0;

	if (dir != KDT_TAP_DIR_IN) {
		key = source = kdt_packet_key(head, rec->network_header, rec->protocol, true);
		if (key)
			o = bpf_map_lookup_elem(&owners, &key);
	}
	if (!o && dir != KDT_TAP_DIR_OUT) {
		key = kdt_packet_key(head, rec->network_header, rec->protocol, false);
		if (key)
			o = bpf_map_lookup_elem(&owners, &key);
	}
	if (!o) {
		if (dir == KDT_TAP_DIR_IN)
			return false; /* no socket of a known process receives it */
		kdt_owner_current(&current);
		o = &current;
		/* The sender's first packet of a port not noted yet: note it now, as its send returns only
		 * after the reply may already have come back (loopback). Only where no owner is known: a
		 * packet sent from softirq (a TCP ACK) belongs to a socket noted at connect or listen. */
		if (source && dir == KDT_TAP_DIR_OUT)
			bpf_map_update_elem(&owners, &source, &current, BPF_NOEXIST);
	}
	if (select_pid && o->tgid != select_pid)
		return false;
	if (select_cgroup && !o->in_cgroup)
		return false;
	if (select_comm[0]) {
		for (int i = 0; i < 16; i++) {
			if (select_comm[i] != o->comm[i])
				return false;
			if (!select_comm[i])
				break;
		}
	}
	rec->pid_tgid = (__u64)o->tgid << 32 | o->tid;
	rec->cgroup_id = o->cgroup_id;
	__builtin_memcpy(rec->comm, o->comm, sizeof(rec->comm));
	return true;
}

/* typed: the skb is a BTF pointer and bpf_skb_output may take it. stash: keep the record and the
 * frame's linear bytes in fexit_stash for the function's return (kdt_tap_fexit) instead of sending. */
static __always_inline int kdt_tap_run(void *ctx, struct sk_buff *skb, __u64 retval, __u64 reason, __u64 location,
				       __u8 flags, bool typed, bool stash)
{
	__u32 zero = 0;
	struct kdt_tap_scratch *sc;
	struct kdt_tap_record *rec;
	struct net_device *dev = NULL;
	unsigned char *head = NULL, *data = NULL;
	__u32 start, linear, verdict, cap, from_data, out;
	__u64 decision;
	__u16 frame_off;
	__u8 link = 0;

	if (!skb)
		return 0;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	rec = &sc->rec;
	kdt_count(KDT_TAP_RUNS);
	if (reason_select && (flags & KDT_TAP_HAS_REASON) && !kdt_reason_kept(reason)) {
		kdt_count(KDT_TAP_FILTERED);
		return 0;
	}
	__u64 skb_key = (__u64)skb;
	bool tracked = track_skb && bpf_map_lookup_elem(&tracked_skbs, &skb_key);

	rec->timestamp_ns = bpf_ktime_get_ns();
	rec->skb_addr = (__u64)skb;
	rec->pid_tgid = bpf_get_current_pid_tgid();
	rec->retval = retval;
	rec->location = location;
	rec->reason = (__u32)reason;
	rec->flags = flags;
	rec->cpu = bpf_get_smp_processor_id();
	KDT_READ(rec->len, skb->len);
	KDT_READ(rec->data_len, skb->data_len);
	KDT_READ(rec->mark, skb->mark);
	KDT_READ(rec->protocol, skb->protocol);
	KDT_READ(rec->mac_header, skb->mac_header);
	KDT_READ(rec->network_header, skb->network_header);
	KDT_READ(head, skb->head);
	KDT_READ(data, skb->data);
	KDT_READ(dev, skb->dev);
	rec->pkt_type = (__u8)KDT_READ_BITFIELD(skb, pkt_type);
	rec->flags |= kdt_direction(skb, rec->pkt_type, typed);
	/* -Q: the other way (or unknown) is left in the kernel, counted as filtered. */
	if (want_direction && !(rec->flags & want_direction)) {
		kdt_count(KDT_TAP_FILTERED);
		return 0;
	}
	rec->ifindex = 0;
	rec->dev_type = 0;
	if (dev) {
		struct net_device___kdt *d = (void *)dev;
		KDT_READ(rec->ifindex, dev->ifindex);
		KDT_READ(rec->dev_type, d->type);
	}
	rec->netns = kdt_netns(skb, typed);
	rec->data_offset = (__u16)(data - head);
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));
	rec->cgroup_id = bpf_get_current_cgroup_id();
	/* --netns, --pid, --comm, --cgroup: before the filter, nothing copied yet; counted as filtered. */
	if ((select_netns && rec->netns != select_netns) || (select_owner && !kdt_selected(rec, head))) {
		kdt_count(KDT_TAP_FILTERED);
		return 0;
	}

	/* Where the frame starts, as an offset from skb->head. On the way out the Ethernet header is
	 * pushed in front of the network header before the device's queue sets mac_header
	 * (__dev_queue_xmit's entry): with mac_header unset, an Ethernet-sized gap from skb->data to
	 * the network header on an Ethernet (or loopback) device is that header. */
	__u16 mac = rec->mac_header;
	bool ether_dev = rec->dev_type == ARPHRD_ETHER || rec->dev_type == ARPHRD_LOOPBACK;
	if (mac == KDT_HEADER_UNSET && ether_dev && rec->network_header != KDT_HEADER_UNSET &&
	    rec->network_header == rec->data_offset + 14)
		mac = rec->data_offset;
	bool mac_ok = mac != KDT_HEADER_UNSET && rec->network_header != KDT_HEADER_UNSET && ether_dev &&
		      mac + 14 <= rec->network_header &&
		      mac + KDT_TAP_PREFIX_MAX >= rec->data_offset;
	bool net_ok = rec->network_header != KDT_HEADER_UNSET &&
		      rec->network_header + KDT_TAP_PREFIX_MAX >= rec->data_offset;
	if (force_link == KDT_TAP_LINK_EN10MB || (force_link == 0 && mac_ok)) {
		if (!mac_ok)
			goto skipped;
		link = KDT_TAP_LINK_EN10MB;
		frame_off = mac;
	} else if (force_link == KDT_TAP_LINK_RAW || force_link == 0) {
		if (!net_ok)
			goto skipped;
		link = KDT_TAP_LINK_RAW;
		frame_off = rec->network_header;
	} else {
		link = KDT_TAP_LINK_DATA;
		frame_off = rec->data_offset;
	}
	rec->link_type = link;

	/* Bytes of the frame before skb->data (a MAC header already pulled), or bytes of skb->data
	 * before the frame (the MAC header when the frame is RAW). */
	rec->prefix_len = 0;
	rec->skip = 0;
	linear = rec->len - rec->data_len;
	if (frame_off < rec->data_offset) {
		start = rec->data_offset - frame_off;
		if (start > KDT_TAP_PREFIX_MAX)
			goto skipped;
		rec->prefix_len = (__u8)start;
		rec->wire_len = rec->len + start;
		linear += start;
	} else {
		start = frame_off - rec->data_offset;
		if (start > rec->len)
			goto skipped;
		rec->skip = (__u16)start;
		rec->wire_len = rec->len - start;
		linear = linear > start ? linear - start : 0;
	}

	if (link == KDT_TAP_LINK_EN10MB)
		decision = kdt_filter_en10mb((__u64)head + frame_off, linear, rec->wire_len);
	else if (link == KDT_TAP_LINK_RAW)
		decision = kdt_filter_raw((__u64)head + frame_off, linear, rec->wire_len);
	else
		decision = kdt_filter_data((__u64)head + frame_off, linear, rec->wire_len);
	if (decision == 0 && !tracked) {
		kdt_count(KDT_TAP_FILTERED);
		return 0;
	}
	if (decision == 0) {
		decision = 0xffffffff;
		rec->flags |= KDT_TAP_TRACKED;
	} else if (decision >> 32) {
		/* Undecided: user space runs the filter, keeps the frame if the skb is followed, and
		 * follows it if the filter matches. */
		if (tracked)
			rec->flags |= KDT_TAP_TRACKED;
	} else if (track_skb && !tracked) {
		bpf_map_update_elem(&tracked_skbs, &skb_key, &rec->timestamp_ns, BPF_NOEXIST);
	}

	cap = rec->wire_len;
	if (decision >> 32) {
		/* The filter needs paged bytes: send the whole frame (as far as a record goes), user
		 * space runs the same filter on it and cuts it to the snapshot length. */
		rec->flags |= KDT_TAP_FILTER_UNDECIDED;
		kdt_count(KDT_TAP_UNDECIDED);
	} else {
		verdict = (__u32)decision;
		if (cap > snap_len)
			cap = snap_len;
		if (cap > verdict)
			cap = verdict;
	}
	if (rec->prefix_len) {
		__u32 p = rec->prefix_len;
		if (cap < p)
			p = cap;
		p &= KDT_TAP_PREFIX_MAX * 2 - 1;
		if (p > KDT_TAP_PREFIX_MAX)
			p = KDT_TAP_PREFIX_MAX;
		bpf_probe_read_kernel(rec->prefix, p, head + frame_off);
		rec->prefix_len = (__u8)p;
	}
	/* Bytes wanted from skb->data: the skipped ones, then the frame's after its prefix. */
	from_data = rec->skip + (cap - rec->prefix_len);

	if (typed && !stash) {
		if (from_data > KDT_TAP_OUTPUT_MAX)
			from_data = KDT_TAP_OUTPUT_MAX;
		if (from_data > rec->len)
			from_data = rec->len;
		if (from_data < rec->skip)
			from_data = rec->skip;
		rec->data_bytes = from_data;
		rec->cap_len = rec->prefix_len + from_data - rec->skip;
		if (bpf_skb_output(skb, &events, BPF_F_CURRENT_CPU | (((__u64)from_data << 32) & BPF_F_CTXLEN_MASK),
				   rec, sizeof(*rec)) < 0)
			kdt_count(KDT_TAP_OUTPUT_FAILED);
	} else {
		__u32 lin = rec->len - rec->data_len;
		if (from_data > lin)
			from_data = lin;
		if (from_data > KDT_TAP_DATA_MAX)
			from_data = KDT_TAP_DATA_MAX;
		if (from_data < rec->skip)
			from_data = rec->skip;
		from_data &= KDT_TAP_DATA_MAX * 2 - 1;
		if (from_data > KDT_TAP_DATA_MAX)
			from_data = KDT_TAP_DATA_MAX;
		if (from_data && bpf_probe_read_kernel(sc->data, from_data, data) < 0)
			from_data = 0;
		rec->flags |= KDT_TAP_LINEAR_ONLY;
		rec->data_bytes = from_data;
		rec->cap_len = from_data >= rec->skip ? rec->prefix_len + from_data - rec->skip : rec->prefix_len;
		if (stash) {
			struct kdt_stash_key key = { .skb = (__u64)skb, .pid_tgid = bpf_get_current_pid_tgid() };

			if (bpf_map_update_elem(&fexit_stash, &key, sc, BPF_ANY) < 0)
				kdt_count(KDT_TAP_OUTPUT_FAILED);
			return 0;
		}
		out = sizeof(*rec) + from_data;
		if (out > sizeof(*sc))
			out = sizeof(*sc);
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, sc, out) < 0)
			kdt_count(KDT_TAP_OUTPUT_FAILED);
	}
	return 0;

skipped:
	kdt_count(KDT_TAP_SKIPPED);
	return 0;
}

/* ctx[i] with i a load-time constant: every load the verifier keeps has a constant offset
 * (it refuses variable offsets into the context). The loads are written in asm so that clang
 * cannot merge the cases into one indexed load. */
#define KDT_CTX_LOAD(v, ctx, off) asm volatile("%[out] = *(u64 *)(%[base] + " #off ")" : [out] "=r"(v) : [base] "r"(ctx))

static __always_inline __u64 kdt_arg(u64 *ctx, __u32 i)
{
	__u64 v = 0;

	switch (i) {
	case 0: KDT_CTX_LOAD(v, ctx, 0); break;
	case 1: KDT_CTX_LOAD(v, ctx, 8); break;
	case 2: KDT_CTX_LOAD(v, ctx, 16); break;
	case 3: KDT_CTX_LOAD(v, ctx, 24); break;
	case 4: KDT_CTX_LOAD(v, ctx, 32); break;
	case 5: KDT_CTX_LOAD(v, ctx, 40); break;
	case 6: KDT_CTX_LOAD(v, ctx, 48); break;
	case 7: KDT_CTX_LOAD(v, ctx, 56); break;
	case 8: KDT_CTX_LOAD(v, ctx, 64); break;
	case 9: KDT_CTX_LOAD(v, ctx, 72); break;
	case 10: KDT_CTX_LOAD(v, ctx, 80); break;
	case 11: KDT_CTX_LOAD(v, ctx, 88); break;
	case 12: KDT_CTX_LOAD(v, ctx, 96); break;
	}
	return v;
}

static __always_inline void kdt_track_forget(struct sk_buff *skb)
{
	__u64 key = (__u64)skb;

	if (track_free && skb)
		bpf_map_delete_elem(&tracked_skbs, &key);
}

static __always_inline int kdt_tap_args(u64 *ctx, bool typed)
{
	__u8 flags = 0;
	__u64 retval = 0, reason = 0, location = 0;
	struct sk_buff *skb = (struct sk_buff *)kdt_arg(ctx, skb_arg);

	if (retval_arg >= 0) {
		retval = kdt_arg(ctx, retval_arg);
		flags |= KDT_TAP_HAS_RETVAL;
	}
	if (reason_arg >= 0) {
		reason = kdt_arg(ctx, reason_arg);
		flags |= KDT_TAP_HAS_REASON;
	}
	if (location_arg >= 0) {
		location = kdt_arg(ctx, location_arg);
		flags |= KDT_TAP_HAS_LOCATION;
	}
	kdt_tap_run(ctx, skb, retval, reason, location, flags, typed, false);
	kdt_track_forget(skb);
	return 0;
}

/* --track-skb's cleanup where the capture frees skbs but does not tap (tp_btf/kfree_skb,
 * tp_btf/consume_skb, fentry/kfree_skbmem where trampolines are allowed): forget the skb. */
SEC("tp_btf/kfree_skb")
int kdt_track_forget_tp_btf(u64 *ctx)
{
	kdt_track_forget((struct sk_buff *)kdt_arg(ctx, skb_arg));
	return 0;
}

SEC("fentry/kfree_skbmem")
int kdt_track_forget_fentry(u64 *ctx)
{
	kdt_track_forget((struct sk_buff *)kdt_arg(ctx, skb_arg));
	return 0;
}

/* The socket owners' notes, in the task's own context: every send and receive on a socket, a
 * connect (SYN_SENT) and a listen (LISTEN). */
SEC("tp_btf/sock_send_length")
int kdt_owner_send(u64 *ctx)
{
	kdt_owner_note((void *)ctx[0]);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int kdt_owner_recv(u64 *ctx)
{
	kdt_owner_note((void *)ctx[0]);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int kdt_owner_state(u64 *ctx)
{
	int state = (int)ctx[2];

	if (state == 2 /* TCP_SYN_SENT */ || state == 10 /* TCP_LISTEN */)
		kdt_owner_note((void *)ctx[0]);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int kdt_tap_tp_btf(u64 *ctx)
{
	return kdt_tap_args(ctx, true);
}

SEC("fentry/ip_output")
int kdt_tap_fentry(u64 *ctx)
{
	return kdt_tap_args(ctx, true);
}

/* fexit taps, at the function's entry: filter and copy (see fexit_stash). No return value here:
 * ctx holds only the arguments. */
SEC("fentry/ip_output")
int kdt_tap_fexit_entry(u64 *ctx)
{
	kdt_tap_run(ctx, (struct sk_buff *)kdt_arg(ctx, skb_arg), 0, 0, 0, KDT_TAP_HAS_RETVAL, true, true);
	return 0;
}

/* ... and at its return: send what the entry kept, with the return value and the time of return. */
SEC("fexit/ip_output")
int kdt_tap_fexit(u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)kdt_arg(ctx, skb_arg);
	struct kdt_stash_key key = { .skb = (__u64)skb, .pid_tgid = bpf_get_current_pid_tgid() };
	struct kdt_tap_scratch *sc;
	__u32 out;

	sc = bpf_map_lookup_elem(&fexit_stash, &key);
	if (sc) {
		sc->rec.retval = kdt_arg(ctx, retval_arg);
		sc->rec.timestamp_ns = bpf_ktime_get_ns();
		out = sizeof(sc->rec) + sc->rec.data_bytes;
		if (out > sizeof(*sc))
			out = sizeof(*sc);
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, sc, out) < 0)
			kdt_count(KDT_TAP_OUTPUT_FAILED);
		bpf_map_delete_elem(&fexit_stash, &key);
	}
	kdt_track_forget(skb);
	return 0;
}

SEC("raw_tp/net_dev_queue")
int kdt_tap_raw_tp(u64 *ctx)
{
	return kdt_tap_args(ctx, false);
}

/* x86-64 argument registers, in order (CO-RE finds them in the kernel's struct pt_regs). */
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long cx;
	unsigned long r8;
	unsigned long r9;
} __attribute__((preserve_access_index));

SEC("kprobe/ip_output")
int kdt_tap_kprobe(struct pt_regs *regs)
{
	__u64 args[6];

	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->cx;
	args[4] = regs->r8;
	args[5] = regs->r9;
	if (skb_arg > 5)
		return 0;
	kdt_tap_run(regs, (struct sk_buff *)args[skb_arg], 0, 0, 0, 0, false, false);
	kdt_track_forget((struct sk_buff *)args[skb_arg]);
	return 0;
}
