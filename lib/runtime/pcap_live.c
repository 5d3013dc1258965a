/*
 * pcap_live.c — open a live libpcap handle for the daemons (see
 * pcap_live.h): the steps and their error texts in one place.
 */
#include "lib/runtime/pcap_live.h"
#include "lib/net/packet_dlt.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The packet type of the Linux cooked headers (pcap-linktype(7)): a
 * big-endian 16-bit field at offset 0 in SLL, one byte at offset 10 in
 * SLL2. */
#define SLL_PACKET_OUTGOING 4
#define SLL_PACKET_TYPE_END 2	/* bytes an SLL frame needs to carry it */
#define SLL2_PACKET_TYPE_OFFSET 10

int pcap_live_dlt_from_pcap(int pcap_dlt, enum packet_dlt *out)
{
	switch (pcap_dlt) {
	case DLT_EN10MB:
		*out = PACKET_DLT_ETHERNET;
		return 0;
	case DLT_LINUX_SLL:
		*out = PACKET_DLT_LINUX_SLL;
		return 0;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		*out = PACKET_DLT_LINUX_SLL2;
		return 0;
#endif
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		*out = PACKET_DLT_RAW;
		return 0;
	}
	return -1;
}

bool pcap_live_is_outgoing(const struct pcap_live *live, const uint8_t *frame, size_t len)
{
	if (!live->check_direction)
		return false;
	if (live->dlt == PACKET_DLT_LINUX_SLL && len >= SLL_PACKET_TYPE_END)
		return (frame[0] << 8 | frame[1]) == SLL_PACKET_OUTGOING;
	if (live->dlt == PACKET_DLT_LINUX_SLL2 && len > SLL2_PACKET_TYPE_OFFSET)
		return frame[SLL2_PACKET_TYPE_OFFSET] == SLL_PACKET_OUTGOING;
	if (live->dlt == PACKET_DLT_ETHERNET && live->own_mac_known && len >= 12)
		return memcmp(frame + 6, live->own_mac, sizeof(live->own_mac)) == 0;
	return false;
}

/* The device's Ethernet address (SIOCGIFHWADDR). 0, or -1 with err. */
static int read_own_mac(struct pcap_live *live, const char *device, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", device);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		snprintf(err, errlen, "%s: cannot read its Ethernet address, so the packets "
			 "this host sends cannot be told apart", device);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	memcpy(live->own_mac, ifr.ifr_hwaddr.sa_data, sizeof(live->own_mac));
	live->own_mac_known = true;
	return 0;
}

/* Direction "in" where the kernel takes it; with both_directions, every
 * packet and a way to tell this host's own apart. */
static int set_direction(struct pcap_live *live, const struct pcap_live_config *cfg,
			 const char *device, char *err, size_t errlen)
{
	if (!cfg->both_directions) {
		live->check_direction = pcap_setdirection(live->handle, PCAP_D_IN) != 0;
		return 0;
	}
	live->check_direction = true;
	if (live->dlt == PACKET_DLT_ETHERNET)
		return read_own_mac(live, device, err, errlen);
	if (live->dlt == PACKET_DLT_RAW) {
		snprintf(err, errlen, "%s: raw IP carries no address or packet type that tells "
			 "the packets this host sends apart (Ethernet or Linux cooked needed)",
			 device);
		return -1;
	}
	return 0;
}

/* pcap_activate's warnings (> 0: no promiscuous mode, no timestamp type)
 * do not matter here; its errors name the device. Some codes come with no
 * text in pcap_geterr: libpcap's words for the code then. */
static int activate(pcap_t *handle, const char *device, char *err, size_t errlen)
{
	int r = pcap_activate(handle);
	const char *detail = pcap_geterr(handle);

	if (r >= 0)
		return 0;
	if (!detail || !*detail)
		detail = pcap_statustostr(r);
	if (r == PCAP_ERROR_NO_SUCH_DEVICE)
		snprintf(err, errlen, "%s: no such device", device);
	else if (r == PCAP_ERROR_PERM_DENIED)
		snprintf(err, errlen, "%s: permission denied (%s)", device, detail);
	else
		snprintf(err, errlen, "%s: %s", device, detail);
	return -1;
}

static int configure(struct pcap_live *live, const struct pcap_live_config *cfg,
		     const char *device, char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int dlt;

	if (pcap_set_snaplen(live->handle, (int)cfg->snaplen) != 0 ||
	    pcap_set_immediate_mode(live->handle, 1) != 0 ||
	    pcap_set_buffer_size(live->handle, (int)cfg->buffer_bytes) != 0 ||
	    pcap_set_promisc(live->handle, 0) != 0) {
		snprintf(err, errlen, "%s: cannot set capture options", device);
		return -1;
	}
	if (activate(live->handle, device, err, errlen) != 0)
		return -1;
	dlt = pcap_datalink(live->handle);
	if (pcap_live_dlt_from_pcap(dlt, &live->dlt) != 0) {
		snprintf(err, errlen, "%s: data-link type %s not supported (Ethernet, Linux cooked, raw IP)",
			 device, pcap_datalink_val_to_name(dlt) ?: "unknown");
		return -1;
	}
	if (set_direction(live, cfg, device, err, errlen) != 0)
		return -1;
	if (pcap_setnonblock(live->handle, 1, errbuf) != 0) {
		snprintf(err, errlen, "%s: %s", device, errbuf);
		return -1;
	}
	live->fd = pcap_get_selectable_fd(live->handle);
	if (live->fd < 0) {
		snprintf(err, errlen, "%s: libpcap gives no descriptor to poll", device);
		return -1;
	}
	return 0;
}

static int set_filter(pcap_t *handle, const char *expr, char *err, size_t errlen)
{
	struct bpf_program bpf;
	int r;

	if (!expr || !*expr)
		return 0;
	if (pcap_compile(handle, &bpf, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter '%s': %s", expr, pcap_geterr(handle));
		return -1;
	}
	r = pcap_setfilter(handle, &bpf);
	pcap_freecode(&bpf);
	if (r != 0) {
		snprintf(err, errlen, "filter '%s': %s", expr, pcap_geterr(handle));
		return -1;
	}
	return 0;
}

int pcap_live_open(struct pcap_live *live, const struct pcap_live_config *cfg,
		   char *err, size_t errlen)
{
	const char *device = cfg->device && *cfg->device ? cfg->device : "any";
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	memset(live, 0, sizeof(*live));
	live->fd = -1;
	live->handle = pcap_create(device, errbuf);
	if (!live->handle) {
		snprintf(err, errlen, "%s: %s", device, errbuf);
		return -1;
	}
	if (configure(live, cfg, device, err, errlen) != 0 ||
	    set_filter(live->handle, cfg->filter, err, errlen) != 0) {
		pcap_live_close(live);
		return -1;
	}
	return 0;
}

void pcap_live_close(struct pcap_live *live)
{
	if (live->handle)
		pcap_close(live->handle);
	live->handle = NULL;
	live->fd = -1;
}
