/*
 * packet_dlt.c — skipping the data-link header of a captured frame
 * (Ethernet with VLAN tags, Linux cooked captures v1 and v2, raw IP) before
 * handing the IP packet to packet_parse().
 */
#include "lib/net/packet_dlt.h"
#include "lib/net/packet.h"

#include "lib/net/packet_bytes.h"

#define ETHERNET_HEADER_LEN 14
#define SLL_HEADER_LEN 16	/* pcap-linktype(7): LINKTYPE_LINUX_SLL */
#define SLL_PROTOCOL_OFFSET 14
#define SLL2_HEADER_LEN 20	/* LINKTYPE_LINUX_SLL2: protocol comes first */
#define VLAN_TAG_LEN 4

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100	/* 802.1Q */
#define ETHERTYPE_QINQ 0x88a8	/* 802.1ad */
#define ETHERTYPE_QINQ_OLD 0x9100	/* pre-standard QinQ, still seen */
#define ETHERTYPE_MIN 0x0600	/* below: an 802.3 length, not a type */

static const char *ethertype_reason(uint16_t type)
{
	if (type < ETHERTYPE_MIN)
		return "not ip (data-link protocol below 0x0600: an 802.3 length, not an ethertype)";
	switch (type) {
	case 0x0806: return "not ip (ethertype 0x0806, arp)";
	case 0x8035: return "not ip (ethertype 0x8035, rarp)";
	case 0x8809: return "not ip (ethertype 0x8809, slow protocols/lacp)";
	case 0x8847: return "not ip (ethertype 0x8847, mpls)";
	case 0x8848: return "not ip (ethertype 0x8848, mpls multicast)";
	case 0x8863: return "not ip (ethertype 0x8863, pppoe discovery)";
	case 0x8864: return "not ip (ethertype 0x8864, pppoe session)";
	case 0x888e: return "not ip (ethertype 0x888e, eapol)";
	case 0x88cc: return "not ip (ethertype 0x88cc, lldp)";
	default: return "not ip (unknown ethertype)";
	}
}

/*
 * The frame's IP packet starts at off, after the data-link header whose last
 * field was type. VLAN tags (4 bytes each: tag control, then the next type)
 * are skipped; each consumes bytes, so the loop ends with the buffer. 0
 * with *ip_off set, or -1 with why.
 */
static int ip_after_type(uint16_t type, const uint8_t *buf, size_t len, size_t off,
			 size_t *ip_off, const char **why)
{
	unsigned version;

	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
		if (len - off < VLAN_TAG_LEN)
			return packet_fail(why, "vlan tag truncated");
		type = load_be16(buf + off + 2);
		off += VLAN_TAG_LEN;
	}
	if (type == ETHERTYPE_IPV4)
		version = 4;
	else if (type == ETHERTYPE_IPV6)
		version = 6;
	else
		return packet_fail(why, ethertype_reason(type));
	if (off == len)
		return packet_fail(why, "frame ends after the data-link header");
	if ((unsigned)(buf[off] >> 4) != version)
		return packet_fail(why, version == 4 ? "ethertype ipv4 but ip version not 4"
					       : "ethertype ipv6 but ip version not 6");
	*ip_off = off;
	return 0;
}

int packet_dlt_ip_offset(enum packet_dlt dlt, const uint8_t *buf, size_t len, size_t *ip_off,
			 const char **why)
{
	switch (dlt) {
	case PACKET_DLT_ETHERNET:
		if (len < ETHERNET_HEADER_LEN)
			return packet_fail(why, "ethernet header truncated: frame shorter than 14 bytes");
		return ip_after_type(load_be16(buf + 12), buf, len, ETHERNET_HEADER_LEN, ip_off, why);
	case PACKET_DLT_LINUX_SLL:
		if (len < SLL_HEADER_LEN)
			return packet_fail(why, "linux cooked (sll) header truncated: frame shorter than 16 bytes");
		return ip_after_type(load_be16(buf + SLL_PROTOCOL_OFFSET), buf, len, SLL_HEADER_LEN,
				     ip_off, why);
	case PACKET_DLT_LINUX_SLL2:
		if (len < SLL2_HEADER_LEN)
			return packet_fail(why, "linux cooked v2 (sll2) header truncated: frame shorter than 20 bytes");
		return ip_after_type(load_be16(buf), buf, len, SLL2_HEADER_LEN, ip_off, why);
	case PACKET_DLT_RAW:
		*ip_off = 0;
		return 0;
	}
	return packet_fail(why, "unknown data-link type");
}

int packet_parse_dlt(enum packet_dlt dlt, const uint8_t *buf, size_t len,
		     unsigned flags, struct packet *p, const char **why)
{
	size_t off;

	if (packet_dlt_ip_offset(dlt, buf, len, &off, why) != 0)
		return -1;
	return packet_parse(buf + off, len - off, flags, p, why);
}
