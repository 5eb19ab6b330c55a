/* ttl_editor: an XDP program that rewrites the IPv4 TTL of passing packets to 64,
 * fixing the header checksum incrementally. Self-contained: it declares the few kernel
 * types it needs, so it builds with clang alone (no kernel or libbpf headers). */

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__u16 h_proto;
} __attribute__((packed));

struct iphdr {
	__u8 ihl_version;
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 saddr;
	__u32 daddr;
};

#define XDP_PASS 2
#define ETH_P_IP_BE 0x0008 /* htons(0x0800) on little-endian */
#define TARGET_TTL 64

__attribute__((section("xdp"), used))
int ttl_editor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (struct iphdr *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != ETH_P_IP_BE)
		return XDP_PASS;
	if (ip->ttl == TARGET_TTL)
		return XDP_PASS;
	/* RFC 1624 incremental update of the checksum for the TTL byte change. */
	__u32 sum = (__u16)~ip->check;
	sum += (__u16)~(__u16)(ip->ttl | (ip->protocol << 8));
	ip->ttl = TARGET_TTL;
	sum += (__u16)(ip->ttl | (ip->protocol << 8));
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
	return XDP_PASS;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
